"""Volunteers, teams, shifts (volunteers)."""

import factory
from django.utils import timezone

from accounts.models import Role, User

from .places import CompoundFactory, UserFactory


def _volunteer_for(compound, name_suffix="志愿者"):
    from volunteers.models import Volunteer

    user = UserFactory(username=f"{compound.name}_{User.objects.count() + 1}", role=Role.VOLUNTEER)
    return Volunteer.objects.create(
        user=user,
        community=compound.community,
        name=f"{compound.name}{name_suffix}"[:50],
        phone=f"139{User.objects.count():08d}",
    )


class VolunteerFactory(factory.django.DjangoModelFactory):
    """compound=: a volunteer of that compound's community, in a team serving it."""

    class Meta:
        model = "volunteers.Volunteer"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Membership, Team

        compound = kwargs.pop("compound", None) or CompoundFactory()
        volunteer = _volunteer_for(compound)
        team, _ = Team.objects.get_or_create(
            community=compound.community,
            name=f"{compound.name}志愿服务队",
            defaults={"kind": "youth"},
        )
        team.compounds.add(compound)
        Membership.objects.create(team=team, volunteer=volunteer)
        return volunteer


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Team"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Team

        compound = kwargs.pop("compound", None) or CompoundFactory()
        team = Team.objects.create(
            community=compound.community,
            name=f"{compound.name}先锋队{Team.objects.count()}",
            kind="party_vanguard",
        )
        team.compounds.add(compound)
        return team


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Membership"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Membership

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Membership.objects.create(
            team=TeamFactory(compound=compound), volunteer=_volunteer_for(compound, "队员")
        )


class PartyBranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.PartyBranch"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import PartyBranch

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return PartyBranch.objects.create(
            community=compound.community,
            compound=compound,
            name=f"{compound.name}临时党支部",
            chat_group=f"{compound.name}群",
        )


class ShiftTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.ShiftTemplate"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from volunteers.models import ShiftTemplate

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return ShiftTemplate.objects.create(
            compound=compound,
            name=f"{compound.name}门岗{ShiftTemplate.objects.count()}"[:40],
            starts=datetime.time(8),
            ends=datetime.time(12),
        )


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Shift"

    @classmethod
    def create(cls, **kwargs):
        import datetime

        from volunteers.models import Shift

        compound = kwargs.pop("compound", None) or CompoundFactory()
        day = timezone.localdate()
        starts = timezone.make_aware(datetime.datetime.combine(day, datetime.time(14)))
        return Shift.objects.create(
            compound=compound,
            name=f"{compound.name}配送"[:40],
            date=day,
            starts_at=starts,
            ends_at=starts + datetime.timedelta(hours=4),
        )


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "volunteers.Assignment"

    @classmethod
    def create(cls, **kwargs):
        from volunteers.models import Assignment

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Assignment.objects.create(
            shift=ShiftFactory(compound=compound), volunteer=VolunteerFactory(compound=compound)
        )


class PositiveCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "compounds.PositiveCase"

    compound = factory.SubFactory(CompoundFactory)
    found_on = factory.LazyFunction(timezone.localdate)
    note = factory.LazyAttribute(lambda o: f"{o.compound.name}发现1例阳性")
    recorded_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.SECRETARY))


class CategoryMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "residents.CategoryMapping"
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    community = factory.LazyAttribute(lambda o: o.compound.community)
    word = factory.LazyAttribute(lambda o: f"{o.compound.name}低保"[:40])
    category = "other"
    created_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.SECRETARY))
