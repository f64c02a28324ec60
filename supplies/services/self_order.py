"""The residents' ordering link: links made and revoked, the code sent to a number on the
register (on the worker), checked, and purged."""

import datetime
import secrets
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Building, Compound
from residents import rules as residents_rules
from residents.models import Household, Resident
from wuyi.lib import cn, pgcopy, pii
from wuyi.lib.errors import Refused

from .. import notify, rules
from ..models import (
    OrderLink,
    SelfOrderCode,
)
from .common import _new_code, _phone, _require_organiser


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


def _phone_hash(phone: str) -> str:
    return pii.keyed_hash(f"selforder:{phone}")


def self_code_request(
    *,
    link: OrderLink,
    phone: Any,
    building: Building | None,
    unit: Any = "",
    room: Any = "",
    now: Any = None,
) -> SelfOrderCode:
    """A resident asks for a code for their number at their door (building, unit, room as
    typed). The request is recorded and the worker, once this commits, looks the number up at
    that door and texts it a code if it lives there (self_code_deliver); a number that does
    not gets nothing. So the page answers the same way, as fast, whoever asks: it looks up
    no resident and sends no SMS itself. Each request counts against the limits an hour per
    number, per door and per link (rules: SELF_CODES_PER_HOUR, SELF_CODES_PER_DOOR_HOUR,
    self_codes_per_link_hour()), so one client holding the link cannot spend the
    community's SMS. Refused: a number or door that is not one, a building of another
    compound, a limit reached, a link no longer in use."""
    now = now or timezone.now()
    phone = _phone(phone)
    if not phone:
        raise Refused(_("Give your mobile number."), field="phone")
    if building is None or building.compound_id != link.compound_id:
        raise Refused(_("Choose your building."), field="building")
    try:
        door = residents_rules.clean_address(building.number, unit, room)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field or "room") from None
    phone_hash = _phone_hash(phone)
    since = now - datetime.timedelta(hours=1)
    this_door = Q(link=link, building=building, unit=door.unit, room=door.room)
    with transaction.atomic():
        # One row locked for a moment: concurrent requests through the link count in turn,
        # so no limit is passed by a burst.
        locked = OrderLink.objects.select_for_update().filter(pk=link.pk, active=True).first()
        if locked is None:
            raise Refused(_("This link is no longer in use."))
        counts = (
            SelfOrderCode.objects.filter(sent_at__gte=since)
            .filter(Q(phone_hash=phone_hash) | Q(link=link))
            .aggregate(
                number=Count("pk", filter=Q(phone_hash=phone_hash)),
                door=Count("pk", filter=this_door),
                link=Count("pk", filter=Q(link=link)),
            )
        )
        if counts["link"] >= rules.self_codes_per_link_hour():
            raise Refused(
                _(
                    "This link has sent as many codes as it may this hour: try again in an "
                    "hour, or ask a volunteer to enter your order."
                )
            )
        if counts["door"] >= rules.SELF_CODES_PER_DOOR_HOUR:
            raise Refused(_("Too many codes for this address: try again in an hour."), field="room")
        if counts["number"] >= rules.SELF_CODES_PER_HOUR:
            raise Refused(_("Too many codes for this number: try again in an hour."), field="phone")
        row = SelfOrderCode.objects.create(
            link=link,
            compound_id=link.compound_id,
            phone_hash=phone_hash,
            building=building,
            unit=door.unit,
            room=door.room,
            code_hash="",
            sent_at=now,
        )
        transaction.on_commit(lambda: _queue_lookup(row.pk))
    return row


# How a lookup is queued: set by supplies.tasks when it is imported (the app's ready() imports
# it), so that the services never import the tasks that import them.
queue_self_code: Callable[[int], Any] | None = None


def _queue_lookup(code_id: int) -> None:
    if queue_self_code is None:
        raise RuntimeError("supplies.tasks is not loaded: SuppliesConfig.ready() imports it")
    queue_self_code(code_id)


def self_code_deliver(*, code_id: int, now: Any = None) -> str:
    """On the worker: the number of a request is looked up at its door; if a current resident
    there has it, a code is made and texted to it. Once per request (a retried task finds it
    looked up and does nothing), nothing for a request older than the code's life. Returns
    what it did, without the number."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            SelfOrderCode.objects.select_for_update(of=("self",))
            .select_related("link__compound")
            .filter(pk=code_id, looked_up_at__isnull=True)
            .first()
        )
        if row is None:
            return "already looked up"
        row.looked_up_at = now
        fields = ["looked_up_at"]
        found = None
        if now - row.sent_at <= datetime.timedelta(minutes=rules.SELF_CODE_MINUTES):
            found = _resident_at_door(row)
        if found is not None:
            household_id, phone = found
            code = _new_code()
            row.household_id = household_id
            row.code_hash = pii.keyed_hash(f"selforder:{row.pk}:{code}")
            fields += ["household", "code_hash"]
            notify.self_order_code(
                phone=phone, code=code, compound=row.link.compound, key=f"supplies:self:{row.pk}"
            )
        row.save(update_fields=fields)
    return "code sent" if found is not None else "not on the register at that address"


def _resident_at_door(row: SelfOrderCode) -> tuple[int, str] | None:
    """(household id, phone) of a current resident at the request's door with its number."""
    if row.building_id is None:
        return None
    residents = Resident.objects.filter(
        household__compound_id=row.compound_id,
        household__building_id=row.building_id,
        household__unit=row.unit,
        household__room=row.room,
        left_on__isnull=True,
    ).exclude(phone="")
    for household_id, phone in residents.order_by("pk").values_list("household_id", "phone"):
        if _phone_hash(phone) == row.phone_hash:
            return household_id, phone
    return None


def self_code_check(*, link: OrderLink, phone: Any, code: Any, now: Any = None) -> Household:
    """The household the code was sent to, for the number it was sent to. A wrong code counts
    against SELF_CODE_ATTEMPTS (kept even though refused); a request that sent nothing (a
    number not at that door) answers as a wrong code does. Refused: no code asked for in the
    last SELF_CODE_MINUTES, a wrong or used-up code."""
    now = now or timezone.now()
    if not link.active:
        raise Refused(_("This link is no longer in use."))
    phone = _phone(phone)
    expired = Refused(_("The code has expired: ask for a new one."), field="code")
    wrong = False
    with transaction.atomic():
        row = (
            SelfOrderCode.objects.select_for_update()
            .filter(
                link=link,
                phone_hash=_phone_hash(phone),
                used_at__isnull=True,
                sent_at__gte=now - datetime.timedelta(minutes=rules.SELF_CODE_MINUTES),
            )
            .order_by("-sent_at")
            .first()
        )
        if row is None:
            raise expired
        if row.attempts >= rules.SELF_CODE_ATTEMPTS:
            raise Refused(_("Too many wrong codes: ask for a new one."), field="code")
        text = str(code or "").strip()
        if not row.code_hash or pii.keyed_hash(f"selforder:{row.pk}:{text}") != row.code_hash:
            row.attempts += 1
            row.save(update_fields=["attempts"])
            wrong = True
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
    if wrong:
        raise Refused(_("Wrong code."), field="code")
    if row.household_id is None:  # a code sent before codes named their household
        raise expired
    household = (
        Household.objects.filter(
            pk=row.household_id,
            compound_id=link.compound_id,
            residents__phone=phone,
            residents__left_on__isnull=True,
        )
        .distinct()
        .first()
    )
    if household is None:  # moved out between the code and now
        raise expired
    return household


def self_codes_purge(*, now: Any = None) -> int:
    """Ordering codes older than a day: nothing needs them (the hourly limit looks back one
    hour). Returns the count deleted."""
    now = now or timezone.now()
    deleted, _kinds = SelfOrderCode.objects.filter(
        sent_at__lt=now - datetime.timedelta(days=1)
    ).delete()
    pgcopy.analyze_after_delete({SelfOrderCode: deleted})
    return deleted
