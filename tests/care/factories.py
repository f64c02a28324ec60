"""Factories of the care app (the URL walk finds them through tests/factories.py)."""

import factory
from django.utils import timezone

from care.models import CarePlan, Need, NeedKind, WelfareCheck
from tests.factories import CompoundFactory, ResidentFactory, VolunteerFactory, VulnerableTagFactory


class WelfareCheckFactory(factory.django.DjangoModelFactory):
    """compound=: a check today of a new elderly resident living alone there, given to a new
    volunteer of the compound (volunteer=None: nobody)."""

    class Meta:
        model = WelfareCheck
        exclude = ("tag",)

    compound = factory.SubFactory(CompoundFactory)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    tag = factory.LazyAttribute(
        lambda o: VulnerableTagFactory(
            compound=o.compound, resident=o.resident, category="elderly_alone"
        )
    )
    household = factory.LazyAttribute(lambda o: o.resident.household)
    date = factory.LazyFunction(timezone.localdate)
    category = "elderly_alone"
    volunteer = factory.LazyAttribute(lambda o: VolunteerFactory(compound=o.compound))
    note = factory.LazyAttribute(lambda o: o.compound.name)


class CarePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarePlan
        exclude = ("compound",)
        django_get_or_create = ("community", "category")

    compound = factory.SubFactory(CompoundFactory)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    category = "chronic"
    every_days = 2


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need

    compound = factory.SubFactory(CompoundFactory)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    kind = NeedKind.SUPPLIES
    text = factory.LazyAttribute(lambda o: f"{o.compound.name} 米一袋")
