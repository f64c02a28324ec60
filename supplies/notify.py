"""The handover code's SMS, through messaging (floor 2), and the secretary's in-app alert of a
failed delivery (messaging.alerts).

The text is a provider-approved template, created unapproved by migration 0002; an operator
enters the provider's code and approves it (seed_demo approves it with a demo code). A template
not approved does not stop a claim: the order is out for delivery, the volunteer sees that no
code was sent, and the log names the template (never a phone number or a code).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import in_site_language
from messaging.alerts import alert_staff
from messaging.models import Allowance
from messaging.rules import fit_value
from messaging.services import OneSms, notify_by_sms

from .models import Order

HANDOVER = "配送交接码"
PURPOSE = "supplies_handover"
SELF_ORDER = "居民下单验证码"
SELF_PURPOSE = "supplies_self_order"
# The texts as migrations 0002 and 0004 create them (seed_demo makes them again when a test
# database was flushed of what the migrations wrote).
TEXTS = {
    HANDOVER: "您的物资（订单{order}）正在配送，交接码{code}，请在志愿者送达时告知。",
    SELF_ORDER: "您正在{compound}线上订购物资，验证码{code}，10分钟内有效。如非本人操作请忽略。",
}


def handover_code(order: Order, code: str) -> bool:
    """Send the household its code; the key names the order and the how-many-th code, so a
    retried claim never sends the same code twice and a new code is a new message."""
    sent = notify_by_sms(
        to=order.phone,
        template=HANDOVER,
        variables={"code": code, "order": str(order.pk)},
        purpose=PURPOSE,
        idempotency_key=_key(order),
        urgent=True,
        place=order.compound,
    )
    return sent > 0


def _key(order: Order) -> str:
    return f"supplies:handover:{order.pk}:{order.codes_sent}"


def handover_codes(codes: Sequence[tuple[Order, str]]) -> int:
    """A claim's codes, each its own message with the key handover_code gives it, written
    together per compound (one transaction and one budget charge for a building, not one per
    order). Returns how many were queued."""
    by_compound: dict[int, list[tuple[Order, str]]] = defaultdict(list)
    for order, code in codes:
        by_compound[order.compound_id].append((order, code))
    queued = 0
    for pairs in by_compound.values():
        queued += notify_by_sms(
            to=[
                OneSms(
                    to=order.phone,
                    variables={"code": code, "order": str(order.pk)},
                    idempotency_key=_key(order),
                )
                for order, code in pairs
            ],
            template=HANDOVER,
            purpose=PURPOSE,
            urgent=True,
            place=pairs[0][0].compound,
        )
    return queued


def self_order_code(*, phone: str, code: str, compound, key: str) -> bool:
    """The code a resident ordering through the compound's link types in (urgent: they are
    waiting for it)."""
    sent = notify_by_sms(
        to=phone,
        template=SELF_ORDER,
        variables={"compound": fit_value(compound.name), "code": code},
        purpose=SELF_PURPOSE,
        idempotency_key=key,
        urgent=True,
        place=compound,
        # Asked for by whoever holds the link: their own allowance, never the budget.
        allowance=Allowance.PUBLIC,
    )
    return sent > 0


@in_site_language
def delivery_failed(order: Order, *, by: Any, note: str) -> int:
    """Tell the compound's secretaries (in the app) that a delivery failed: the order waits to
    be claimed again, and someone may need to call the household. Once per failed attempt.
    Returns how many were told."""
    text = _("Delivery failed: order %(order)s, %(address)s at %(compound)s (%(note)s).") % {
        "order": order.pk,
        "address": order.household.address,
        "compound": order.compound.name,
        "note": note,
    }
    told = alert_staff(
        compound_id=order.compound_id,
        role=Role.SECRETARY,
        text=text,
        key=f"supplies:failed:{order.pk}:{order.failures}",
        link=reverse("supplies:order", args=[order.pk]),
        severity=Severity.WARNING,
        but=[by.pk] if getattr(by, "pk", None) else [],
    )
    return len(told)
