"""The code a resident proves they live at a door with, through a link held without an account:
a compound's ordering link (supplies) and a household's own link (residents.household) both
ask for, send and check their codes here, once.

The page records the request (code_request) and answers at once, the same way, whoever asks;
the worker, once it commits, looks the number up at the door and texts it a code only if a
current resident there has it (code_deliver); code_check takes the code back. The limits an
hour per number, per door and per link stop one client holding a link from spending the
community's SMS. Each link kind registers how its code is texted (register_sender): the
template is the link's app's.
"""

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import Building
from wuyi.lib import cn, pgcopy, pii
from wuyi.lib.errors import Refused

from . import rules
from .models import Household, LinkCode, Resident

# A code: six digits, lives ten minutes, five tries; three codes an hour per number, five per
# door (every request counts, whether or not it sent an SMS).
CODE_DIGITS = 6
CODE_MINUTES = 10
CODE_ATTEMPTS = 5
CODES_PER_HOUR = 3
CODES_PER_DOOR_HOUR = 5


@dataclass(frozen=True)
class Gate:
    """One link codes are asked for through. `lock()` locks the link's row inside the
    caller's transaction and says whether it is still in use; `household_id`, when set, is
    the one household the link admits (a household's own link)."""

    purpose: str
    link_id: int
    compound_id: int
    per_link_hour: int
    lock: Callable[[], bool]
    household_id: int | None = None
    busy_message: Any = None  # the refusal when the link's hourly limit is reached


# How a code is texted, per purpose: sender(phone=, code=, compound=, key=), registered by
# the link's app (plugins.py), called on the worker.
Sender = Callable[..., Any]
_senders: dict[str, Sender] = {}


def register_sender(purpose: str, sender: Sender) -> None:
    _senders[purpose] = sender


# How a lookup is queued: set by residents.tasks when it is imported (ResidentsConfig.ready()
# imports it), so that this module never imports the tasks that import it.
queue_lookup: Callable[[int], Any] | None = None


def _queue(code_id: int) -> None:
    if queue_lookup is None:
        raise RuntimeError("residents.tasks is not loaded: ResidentsConfig.ready() imports it")
    queue_lookup(code_id)


def phone_of(value: Any) -> str:
    if not value:
        return ""
    try:
        return cn.normalize_phone(value)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="phone") from None


def _phone_hash(phone: str) -> str:
    # The ordering link's hashes from before the move stay comparable: same prefix.
    return pii.keyed_hash(f"selforder:{phone}")


def _code_hash(row_id: int, code: str) -> str:
    return pii.keyed_hash(f"selforder:{row_id}:{code}")


def code_request(
    *,
    gate: Gate,
    phone: Any,
    building: Building | None,
    unit: Any = "",
    room: Any = "",
    now: Any = None,
) -> LinkCode:
    """A resident asks for a code for their number at their door (building, unit, room as
    typed). Recorded and answered at once; the worker looks the number up once this commits.
    Refused: a number or door that is not one, a building of another compound, a limit
    reached, a link no longer in use."""
    now = now or timezone.now()
    phone = phone_of(phone)
    if not phone:
        raise Refused(_("Give your mobile number."), field="phone")
    if building is None or building.compound_id != gate.compound_id:
        raise Refused(_("Choose your building."), field="building")
    try:
        door = rules.clean_address(building.number, unit, room)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field or "room") from None
    phone_hash = _phone_hash(phone)
    since = now - datetime.timedelta(hours=1)
    this_link = Q(purpose=gate.purpose, link_id=gate.link_id)
    this_door = this_link & Q(building=building, unit=door.unit, room=door.room)
    with transaction.atomic():
        # One row locked for a moment: concurrent requests through the link count in turn,
        # so no limit is passed by a burst.
        if not gate.lock():
            raise Refused(_("This link is no longer in use."))
        counts = (
            LinkCode.objects.filter(sent_at__gte=since)
            .filter(Q(phone_hash=phone_hash) | this_link)
            .aggregate(
                number=Count("pk", filter=Q(phone_hash=phone_hash)),
                door=Count("pk", filter=this_door),
                link=Count("pk", filter=this_link),
            )
        )
        if counts["link"] >= gate.per_link_hour:
            raise Refused(
                gate.busy_message
                or _("This link has sent as many codes as it may this hour: try again in an hour.")
            )
        if counts["door"] >= CODES_PER_DOOR_HOUR:
            raise Refused(_("Too many codes for this address: try again in an hour."), field="room")
        if counts["number"] >= CODES_PER_HOUR:
            raise Refused(_("Too many codes for this number: try again in an hour."), field="phone")
        row = LinkCode.objects.create(
            purpose=gate.purpose,
            link_id=gate.link_id,
            compound_id=gate.compound_id,
            phone_hash=phone_hash,
            building=building,
            unit=door.unit,
            room=door.room,
            code_hash="",
            sent_at=now,
        )
        transaction.on_commit(lambda: _queue(row.pk))
    return row


def code_deliver(*, code_id: int, now: Any = None) -> str:
    """On the worker: the number of a request is looked up at its door; if a current resident
    there has it, a code is made and texted to it (the sender its purpose registered). Once
    per request (a retried task finds it looked up and does nothing), nothing for a request
    older than the code's life. Returns what it did, without the number."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            LinkCode.objects.select_for_update(of=("self",))
            .select_related("compound")
            .filter(pk=code_id, looked_up_at__isnull=True)
            .first()
        )
        if row is None:
            return "already looked up"
        row.looked_up_at = now
        fields = ["looked_up_at"]
        found = None
        if now - row.sent_at <= datetime.timedelta(minutes=CODE_MINUTES):
            found = _resident_at_door(row)
        if found is not None:
            household_id, phone = found
            code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
            row.household_id = household_id
            row.code_hash = _code_hash(row.pk, code)
            fields += ["household", "code_hash"]
            _senders[row.purpose](
                phone=phone, code=code, compound=row.compound, key=f"{row.purpose}:code:{row.pk}"
            )
        row.save(update_fields=fields)
    return "code sent" if found is not None else "not on the register at that address"


def _resident_at_door(row: LinkCode) -> tuple[int, str] | None:
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


def code_check(*, gate: Gate, phone: Any, code: Any, now: Any = None) -> Household:
    """The household the code was sent to, for the number it was sent to. A wrong code counts
    against CODE_ATTEMPTS (kept even though refused); a request that sent nothing (a number
    not at that door) answers as a wrong code does. Refused: no code asked for in the last
    CODE_MINUTES, a wrong or used-up code, a household the gate does not admit."""
    now = now or timezone.now()
    phone = phone_of(phone)
    expired = Refused(_("The code has expired: ask for a new one."), field="code")
    wrong = False
    with transaction.atomic():
        if not gate.lock():
            raise Refused(_("This link is no longer in use."))
        row = (
            LinkCode.objects.select_for_update()
            .filter(
                purpose=gate.purpose,
                link_id=gate.link_id,
                phone_hash=_phone_hash(phone),
                used_at__isnull=True,
                sent_at__gte=now - datetime.timedelta(minutes=CODE_MINUTES),
            )
            .order_by("-sent_at")
            .first()
        )
        if row is None:
            raise expired
        if row.attempts >= CODE_ATTEMPTS:
            raise Refused(_("Too many wrong codes: ask for a new one."), field="code")
        text = str(code or "").strip()
        if not row.code_hash or _code_hash(row.pk, text) != row.code_hash:
            row.attempts += 1
            row.save(update_fields=["attempts"])
            wrong = True
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
    if wrong:
        raise Refused(_("Wrong code."), field="code")
    if row.household_id is None or (
        gate.household_id is not None and row.household_id != gate.household_id
    ):
        raise expired
    household = (
        Household.objects.filter(
            pk=row.household_id,
            compound_id=gate.compound_id,
            residents__phone=phone,
            residents__left_on__isnull=True,
        )
        .distinct()
        .first()
    )
    if household is None:  # moved out between the code and now
        raise expired
    return household


def codes_purge(*, now: Any = None) -> int:
    """Codes older than a day: nothing needs them (the hourly limits look back one hour).
    Returns the count deleted."""
    now = now or timezone.now()
    deleted, _kinds = LinkCode.objects.filter(sent_at__lt=now - datetime.timedelta(days=1)).delete()
    pgcopy.analyze_after_delete({LinkCode: deleted})
    return deleted
