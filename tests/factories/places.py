"""The place tree, users, postings, alerts and status changes (accounts, compounds)."""

import factory

from accounts.models import Alert, Role, User
from compounds.models import (
    Building,
    Community,
    Compound,
    District,
    Posting,
    StatusChange,
    Subdistrict,
)


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        exclude = ("compound",)

    compound = None
    code = factory.Sequence(lambda n: f"62{n:04d}")
    name = factory.Sequence(lambda n: f"区{n}")


class SubdistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subdistrict
        exclude = ("compound",)

    compound = None
    district = factory.SubFactory(DistrictFactory)
    code = factory.Sequence(lambda n: f"S{n:06d}")
    name = factory.Sequence(lambda n: f"街道{n}")


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        exclude = ("compound",)

    compound = None
    subdistrict = factory.SubFactory(SubdistrictFactory)
    code = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"社区{n}")


class CompoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Compound
        exclude = ("compound",)

    compound = None
    community = factory.LazyAttribute(
        lambda o: o.compound.community if o.compound else CommunityFactory()
    )
    code = factory.Sequence(lambda n: f"K{n:06d}")
    name = factory.Sequence(lambda n: f"小区{n}")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    compound = factory.SubFactory(CompoundFactory)
    number = factory.Sequence(lambda n: str(n + 1))
    name = factory.LazyAttribute(lambda o: f"{o.number}号楼")
    unit_count = 2
    floor_count = 6


class UserFactory(factory.django.DjangoModelFactory):
    """posted_to=<place> (or a list of places) posts the user there; compound=<compound> makes
    a volunteer posted there, named after it."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    @classmethod
    def create(cls, **kwargs):
        compound = kwargs.pop("compound", None)
        if compound is not None:
            kwargs.setdefault("posted_to", compound)
            kwargs.setdefault("role", Role.VOLUNTEER)
            kwargs.setdefault("username", f"{compound.name}_{User.objects.count() + 1}")
        return super().create(**kwargs)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SECRETARY
    password = factory.PostGenerationMethodCall("set_password", "pw-Wuyi-2026")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    @factory.post_generation
    def posted_to(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            from compounds.services import posting_add

            for place in extracted if isinstance(extracted, list | tuple) else [extracted]:
                posting_add(user=obj, place=place)


class PostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Posting

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(
        lambda o: UserFactory(username=f"{o.compound.name}_志愿者", role=Role.VOLUNTEER)
    )


def _secretary_of(compound):
    """The compound's community secretary (the first posted), or a new one."""
    from compounds.selectors import users_posted_at

    found = users_posted_at("community", compound.community_id, roles=[Role.SECRETARY])
    if found:
        return found[0]
    return UserFactory(role=Role.SECRETARY, posted_to=compound.community)


class AlertFactory(factory.django.DjangoModelFactory):
    """An alert to the compound's secretary about the compound (compound= is not a field)."""

    class Meta:
        model = Alert
        exclude = ("compound",)

    compound = factory.SubFactory(CompoundFactory)
    user = factory.LazyAttribute(lambda o: _secretary_of(o.compound))
    text = factory.LazyAttribute(lambda o: f"{o.compound.name}：3个消杀点位逾期未完成")
    link = factory.LazyAttribute(lambda o: f"/compounds/{o.compound.pk}/")
    key = factory.Sequence(lambda n: f"tests:alert:{n}")


class StatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusChange

    compound = factory.SubFactory(CompoundFactory)
    from_status = "normal"
    to_status = "precautionary"
    reason = factory.LazyAttribute(lambda o: f"{o.compound.name} 核酸检测")
    changed_by = factory.LazyAttribute(lambda o: UserFactory(role=Role.DISTRICT_STAFF))
