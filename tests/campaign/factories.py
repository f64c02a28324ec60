"""Factories of the campaign, each made for a compound (tests/test_url_walk.py calls
`<Model>Factory(compound=...)`): the compound's district checklist with one group and item, a
check, a certificate, a publicity record of its community, the district's texts."""

import datetime

import factory
from django.utils import timezone

from accounts.models import Role
from tests.factories import CompoundFactory, UserFactory

__all__ = [
    "AssessmentFactory",
    "CampaignTextFactory",
    "CertificateFactory",
    "CheckFactory",
    "ChecklistFactory",
    "ChecklistGroupFactory",
    "ChecklistItemFactory",
    "PublicityRecordFactory",
]


def _compound(kwargs):
    return kwargs.pop("compound", None) or CompoundFactory()


class ChecklistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.Checklist"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import Checklist

        compound = _compound(kwargs)
        checklist, _ = Checklist.objects.get_or_create(district_id=compound.district_id, **kwargs)
        return checklist


class ChecklistGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.ChecklistGroup"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import ChecklistGroup

        checklist = kwargs.pop("checklist", None) or ChecklistFactory(compound=_compound(kwargs))
        kwargs.setdefault("title", "五步工作法（示例）")
        return ChecklistGroup.objects.create(checklist=checklist, **kwargs)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.ChecklistItem"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import ChecklistItem

        group = kwargs.pop("group", None) or ChecklistGroupFactory(compound=_compound(kwargs))
        kwargs.setdefault("text", "全员排查（示例）")
        return ChecklistItem.objects.create(group=group, **kwargs)


class AssessmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.Assessment"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import Assessment

        compound = _compound(kwargs)
        found, _ = Assessment.objects.get_or_create(compound=compound, closed_at__isnull=True)
        return found


class CheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.Check"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import Check

        compound = _compound(kwargs)
        item = kwargs.pop("item", None) or ChecklistItemFactory(compound=compound)
        by = kwargs.pop("checked_by", None) or UserFactory(
            role=Role.SECRETARY, posted_to=compound.community
        )
        kwargs.setdefault("met", True)
        kwargs.setdefault("note", f"{compound.name} 已核查")
        return Check.objects.create(
            assessment=AssessmentFactory(compound=compound), item=item, checked_by=by, **kwargs
        )


class CertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.Certificate"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import Certificate

        compound = _compound(kwargs)
        by = kwargs.pop("certified_by", None) or UserFactory(
            role=Role.DISTRICT_STAFF, posted_to=compound.district
        )
        kwargs.setdefault("status", "revoked")
        kwargs.setdefault("number", f"T-{compound.pk}-{Certificate.objects.count() + 1}")
        kwargs.setdefault("figures", [{"item": compound.name, "met": True, "figure": ""}])
        if kwargs["status"] == "revoked":
            kwargs.setdefault("revoked_at", timezone.now())
            kwargs.setdefault("revoke_reason", f"{compound.name} 新增阳性")
        return Certificate.objects.create(compound=compound, certified_by=by, **kwargs)


class PublicityRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.PublicityRecord"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import PublicityKind, PublicityRecord

        compound = _compound(kwargs)
        by = kwargs.pop("recorded_by", None) or UserFactory(
            role=Role.SECRETARY, posted_to=compound.community
        )
        kwargs.setdefault("day", timezone.localdate() - datetime.timedelta(days=1))
        kwargs.setdefault("kind", PublicityKind.BANNER)
        kwargs.setdefault("count", 5)
        kwargs.setdefault("place", f"{compound.name}大门")
        return PublicityRecord.objects.create(
            community=compound.community, recorded_by=by, **kwargs
        )


class CampaignTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "campaign.CampaignText"

    @classmethod
    def create(cls, **kwargs):
        from campaign.models import CampaignText

        compound = _compound(kwargs)
        by = kwargs.pop("updated_by", None) or UserFactory(
            role=Role.DISTRICT_STAFF, posted_to=compound.district
        )
        text, _ = CampaignText.objects.get_or_create(
            district_id=compound.district_id,
            kind=kwargs.pop("kind", "code"),
            defaults={"title": "居民守则（示例）", "body": "配合核酸检测。", "updated_by": by},
        )
        return text
