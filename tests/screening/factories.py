"""Factories for screening: each takes compound=... (the URL walk puts one in community A)."""

import datetime
import itertools

import factory
from django.utils import timezone

from accounts.models import Role
from screening.models import (
    Exemption,
    HealthReport,
    Quarantine,
    ResultImport,
    Retest,
    Sample,
    SamplingSlot,
    TemporaryControl,
    TestingRound,
    Tube,
)

__all__ = [
    "ExemptionFactory",
    "HealthReportFactory",
    "QuarantineFactory",
    "ResultImportFactory",
    "RetestFactory",
    "SampleFactory",
    "SamplingSlotFactory",
    "TemporaryControlFactory",
    "TestingRoundFactory",
    "TubeFactory",
]

_numbers = itertools.count(100)


def _compound(kwargs):
    from tests.factories import CompoundFactory

    return kwargs.pop("compound", None) or CompoundFactory()


def _resident(compound):
    from tests.factories import ResidentFactory

    return ResidentFactory(compound=compound)


def _user(compound, role=Role.DISTRICT_STAFF):
    from tests.factories import UserFactory

    return UserFactory(role=role, posted_to=compound.district)


class TestingRoundFactory(factory.django.DjangoModelFactory):
    """A round of the compound's district. It carries no name of the compound: the district's
    other communities see it too."""

    class Meta:
        model = TestingRound

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        today = timezone.localdate()
        kwargs.setdefault("number", next(_numbers))
        kwargs.setdefault("starts_on", today)
        kwargs.setdefault("ends_on", today + datetime.timedelta(days=1))
        return TestingRound.objects.create(district_id=compound.district_id, **kwargs)


class TubeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tube

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        testing_round = kwargs.pop("round", None) or TestingRoundFactory(compound=compound)
        kwargs.setdefault("barcode", f"T{next(_numbers):08d}")
        kwargs.setdefault("kind", "pool10")
        return Tube.objects.create(round=testing_round, compound=compound, **kwargs)


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sample

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        tube = kwargs.pop("tube", None) or TubeFactory(compound=compound)
        resident = kwargs.pop("resident", None) or _resident(compound)
        tube.size += 1
        tube.save(update_fields=["size"])
        return Sample.objects.create(
            tube=tube,
            round_id=tube.round_id,
            compound=compound,
            resident=resident,
            household_id=resident.household_id,
            retest=tube.retest,
            key=kwargs.pop("key", f"k{next(_numbers):012d}"),
            **kwargs,
        )


class RetestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Retest

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        sample = SampleFactory(compound=compound)
        return Retest.objects.create(
            round_id=sample.round_id,
            compound=compound,
            resident_id=sample.resident_id,
            household_id=sample.household_id,
            pool=sample.tube,
            **kwargs,
        )


class TemporaryControlFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemporaryControl

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        sample = SampleFactory(compound=compound)
        return TemporaryControl.objects.create(
            compound=compound, household_id=sample.household_id, pool=sample.tube, **kwargs
        )


class ExemptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exemption

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        return Exemption.objects.create(
            round=kwargs.pop("round", None) or TestingRoundFactory(compound=compound),
            compound=compound,
            resident=kwargs.pop("resident", None) or _resident(compound),
            reason=kwargs.pop("reason", "away"),
            by=_user(compound),
        )


class ResultImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResultImport

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        return ResultImport.objects.create(
            round=kwargs.pop("round", None) or TestingRoundFactory(compound=compound),
            file_name="results.csv",
            by=_user(compound),
            **kwargs,
        )


class QuarantineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quarantine

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        today = timezone.localdate()
        kwargs.setdefault("kind", "close")
        kwargs.setdefault("place", "home")
        kwargs.setdefault("starts_on", today)
        kwargs.setdefault("ends_on", today + datetime.timedelta(days=7))
        return Quarantine.objects.create(
            compound=compound,
            resident=kwargs.pop("resident", None) or _resident(compound),
            **kwargs,
        )


class HealthReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HealthReport

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        q = kwargs.pop("quarantine", None) or QuarantineFactory(compound=compound)
        return HealthReport.objects.create(
            quarantine=q,
            compound=compound,
            day=kwargs.pop("day", q.starts_on),
            temperature=kwargs.pop("temperature", "36.6"),
            symptoms=kwargs.pop("symptoms", compound.name),
        )


class SamplingSlotFactory(factory.django.DjangoModelFactory):
    """A sampling point and its slot, for all the compound's buildings, on the round's day."""

    class Meta:
        model = SamplingSlot

    @classmethod
    def create(cls, **kwargs):
        compound = _compound(kwargs)
        testing_round = kwargs.pop("round", None) or TestingRoundFactory(compound=compound)
        start = timezone.make_aware(
            datetime.datetime.combine(testing_round.starts_on, datetime.time(8))
        )
        kwargs.setdefault("place", "东门广场")
        kwargs.setdefault("starts_at", start)
        kwargs.setdefault("ends_at", start + datetime.timedelta(hours=2))
        return SamplingSlot.objects.create(round=testing_round, compound=compound, **kwargs)
