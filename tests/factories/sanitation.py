"""Areas, rounds, the waste log (sanitation)."""

import factory
from django.utils import timezone

from .places import CompoundFactory


class AreaFactory(factory.django.DjangoModelFactory):
    """compound=: an area of that compound, named after it (rounds at 08:00 and 14:00)."""

    class Meta:
        model = "sanitation.Area"

    @classmethod
    def create(cls, **kwargs):
        from sanitation.models import Area

        compound = kwargs.pop("compound", None) or CompoundFactory()
        defaults = {
            "compound": compound,
            "kind": "lift",
            "name": f"{compound.name}电梯{Area.objects.count() + 1}"[:60],
            "method": "wipe",
            "times": ["08:00", "14:00"],
            "window_minutes": 60,
        }
        defaults.update(kwargs)
        return Area.objects.create(**defaults)


class RoundFactory(factory.django.DjangoModelFactory):
    """compound=: a round today at 14:00 of a new area of that compound. area=, at=, assignee=
    as wanted."""

    class Meta:
        model = "sanitation.Round"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from sanitation.models import Round

        area = kwargs.pop("area", None) or AreaFactory(compound=kwargs.pop("compound", None))
        kwargs.pop("compound", None)
        day = kwargs.pop("date", None) or timezone.localdate()
        at = kwargs.pop("at", datetime.time(14))
        due = timezone.make_aware(datetime.datetime.combine(day, at))
        return Round.objects.create(
            area=area,
            compound=area.compound,
            date=day,
            due_at=due,
            window_ends_at=due + datetime.timedelta(minutes=area.window_minutes),
            note=kwargs.pop("note", area.compound.name),
            **kwargs,
        )


class WasteRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sanitation.WasteRecord"

    @classmethod
    def create(cls, **kwargs):
        from sanitation.models import WasteRecord

        compound = kwargs.pop("compound", None) or CompoundFactory()
        area = AreaFactory(compound=compound, kind="medical_waste", method="spray")
        return WasteRecord.objects.create(
            area=area,
            compound=compound,
            date=timezone.localdate(),
            bags=2,
            note=compound.name,
        )
