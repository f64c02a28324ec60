"""The register (residents)."""

import factory
from django.utils import timezone

from residents.models import (
    Household,
    ImportJob,
    PersonalDataAccess,
    Resident,
    VulnerableTag,
)

from .places import BuildingFactory, CompoundFactory, UserFactory


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    compound = factory.SubFactory(CompoundFactory)
    building = factory.LazyAttribute(
        lambda o: o.compound.buildings.first() or BuildingFactory(compound=o.compound)
    )
    unit = "1"
    room = factory.Sequence(lambda n: str(9001 + n))
    notes = factory.LazyAttribute(lambda o: f"{o.compound.name}")


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    household = factory.LazyAttribute(lambda o: HouseholdFactory(compound=o.compound))
    name = factory.LazyAttribute(lambda o: f"{o.compound.name}居民")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    notes = factory.LazyAttribute(lambda o: o.compound.name)


class VulnerableTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VulnerableTag
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    category = "disabled"
    details = factory.LazyAttribute(lambda o: o.compound.name)


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    compound = factory.SubFactory(CompoundFactory)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    user = factory.LazyAttribute(lambda o: UserFactory(posted_to=o.compound.community))
    filename = factory.LazyAttribute(lambda o: f"{o.compound.name}.xlsx")
    path = "/nonexistent"
    state = ImportJob.State.CHECKED
    report = factory.LazyAttribute(
        lambda o: {"total_rows": 1, "errors": [{"row": 3, "column": "姓名", "message": o.filename}]}
    )


class PersonalDataAccessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonalDataAccess
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(lambda o: UserFactory(posted_to=o.compound.community))
    kind = PersonalDataAccess.Kind.VIEW
    district = factory.LazyAttribute(lambda o: o.compound.district)
    subdistrict = factory.LazyAttribute(lambda o: o.compound.subdistrict)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    resident = factory.LazyAttribute(lambda o: ResidentFactory(compound=o.compound))
    detail = factory.LazyAttribute(lambda o: {"note": o.compound.name})
    at = factory.LazyFunction(timezone.now)


class HouseholdLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "residents.HouseholdLink"

    @classmethod
    def create(cls, **kwargs):
        import secrets

        from residents.models import HouseholdLink

        compound = kwargs.pop("compound", None) or CompoundFactory()
        household = kwargs.pop("household", None) or HouseholdFactory(compound=compound)
        return HouseholdLink.objects.create(
            household=household,
            compound_id=household.compound_id,
            token=secrets.token_urlsafe(32),
            **kwargs,
        )


class HouseholdActionLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "residents.HouseholdActionLog"

    @classmethod
    def create(cls, **kwargs):
        from residents.models import HouseholdActionLog

        compound = kwargs.pop("compound", None) or CompoundFactory()
        link = kwargs.pop("link", None) or HouseholdLinkFactory(compound=compound)
        return HouseholdActionLog.objects.create(
            household_id=link.household_id,
            compound_id=link.compound_id,
            link=link,
            action=kwargs.pop("action", "opened"),
            detail=kwargs.pop("detail", compound.name),
        )
