"""The residents' ordering link: links made and revoked; its codes are residents.codes' (the
household's own link asks for and checks its codes there too)."""

import secrets
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Building, Compound
from residents import codes
from residents.models import Household, LinkCode
from wuyi.lib.errors import Refused

from .. import notify, rules
from ..models import OrderLink
from .common import _require_organiser

# The ordering link's codes in residents.codes.
CODE_PURPOSE = "order"


def order_link_get_or_create(*, by: User, compound: Compound) -> OrderLink:
    """The compound's ordering link for residents (one active at a time)."""
    _require_organiser(by)
    link = OrderLink.objects.filter(compound=compound, active=True).first()
    if link is None:
        link = OrderLink.objects.create(
            compound=compound, token=secrets.token_urlsafe(24), created_by=by
        )
    return link


def order_link_revoke(*, by: User, link: OrderLink) -> OrderLink:
    """The link stops working (it was posted where it should not be): a new one can be made."""
    _require_organiser(by)
    OrderLink.objects.filter(pk=link.pk).update(active=False)
    link.active = False
    return link


def _gate(link: OrderLink) -> codes.Gate:
    """The ordering link as residents' code check sees it."""

    def lock() -> bool:
        return OrderLink.objects.select_for_update().filter(pk=link.pk, active=True).exists()

    return codes.Gate(
        purpose=CODE_PURPOSE,
        link_id=link.pk,
        compound_id=link.compound_id,
        per_link_hour=rules.self_codes_per_link_hour(),
        lock=lock,
        busy_message=_(
            "This link has sent as many codes as it may this hour: try again in an "
            "hour, or ask a volunteer to enter your order."
        ),
    )


def self_code_request(
    *,
    link: OrderLink,
    phone: Any,
    building: Building | None,
    unit: Any = "",
    room: Any = "",
    now: Any = None,
) -> LinkCode:
    """A resident asks for a code for their number at their door, through the compound's
    ordering link: residents.codes.code_request (the page answers alike for any number; the
    worker texts a code only to a number at that door). The link's own limit an hour is
    self_codes_per_link_hour()."""
    return codes.code_request(
        gate=_gate(link), phone=phone, building=building, unit=unit, room=room, now=now
    )


def self_code_deliver(*, code_id: int, now: Any = None) -> str:
    """On the worker: residents.codes.code_deliver (texted by self_order_sender)."""
    return codes.code_deliver(code_id=code_id, now=now)


def self_order_sender(*, phone: str, code: str, compound: Compound, key: str) -> None:
    """How an ordering link's code is texted (registered with residents.codes)."""
    notify.self_order_code(phone=phone, code=code, compound=compound, key=key)


def self_code_check(*, link: OrderLink, phone: Any, code: Any, now: Any = None) -> Household:
    """The household the code was sent to (residents.codes.code_check)."""
    if not link.active:
        raise Refused(_("This link is no longer in use."))
    return codes.code_check(gate=_gate(link), phone=phone, code=code, now=now)


def self_codes_purge(*, now: Any = None) -> int:
    """Codes older than a day, of every link (residents.codes.codes_purge)."""
    return codes.codes_purge(now=now)
