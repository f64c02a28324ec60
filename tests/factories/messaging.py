"""Messages, recipients, opt-outs, budgets (messaging)."""

import factory
from django.utils import timezone

from .places import CompoundFactory


def _sms_template():
    from messaging.models import SmsTemplate

    # City-wide, seen by every secretary: never carries a compound's name.
    template, _ = SmsTemplate.objects.get_or_create(
        name="走查通知",
        defaults={"code": "SMS_000001", "body": "请于{time}到东门领取物资。", "approved": True},
    )
    return template


class MessageFactory(factory.django.DjangoModelFactory):
    """compound=: a campaign to that compound, described by its name."""

    class Meta:
        model = "messaging.Message"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import Message

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Message.objects.create(
            template=_sms_template(),
            variables={"time": "明天9点"},
            purpose="campaign",
            audience="residents.compound",
            description=f"{compound.name}全体居民",
            district_id=compound.district_id,
            subdistrict_id=compound.subdistrict_id,
            community_id=compound.community_id,
            compound=compound,
            send_at=timezone.now(),
            recipient_count=1,
        )


class RecipientFactory(factory.django.DjangoModelFactory):
    """compound=: a failed SMS of a campaign to that compound (its error names the compound)."""

    class Meta:
        model = "messaging.Recipient"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import Recipient

        compound = kwargs.pop("compound", None) or CompoundFactory()
        return Recipient.objects.create(
            message=MessageFactory(compound=compound),
            phone=f"137{Recipient.objects.count():08d}",
            status="failed",
            due_at=timezone.now(),
            attempts=1,
            last_error=f"{compound.name}: 空号",
        )


class OptOutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.OptOut"

    @classmethod
    def create(cls, **kwargs):
        from messaging.models import OptOut
        from wuyi.lib import pii

        compound = kwargs.pop("compound", None) or CompoundFactory()
        phone = f"136{OptOut.objects.count():08d}"
        return OptOut.objects.create(
            phone_hash=pii.keyed_hash(phone),
            phone_last4=phone[-4:],
            note=f"{compound.name}居民来电要求",
            community=compound.community,
        )


class BudgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.Budget"

    @classmethod
    def create(cls, **kwargs):
        from decimal import Decimal

        from messaging.models import Budget

        compound = kwargs.pop("compound", None) or CompoundFactory()
        budget, _ = Budget.objects.update_or_create(
            community=compound.community,
            defaults={"monthly_amount": Decimal("500"), "note": f"{compound.name}专项"},
        )
        return budget
