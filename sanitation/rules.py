"""Who organises disinfection, what a schedule may say, and the defaults a compound starts with.

Forms, the API, the admin and the services all check an area's times here."""

import datetime
import re
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from compounds.models import building_label
from volunteers.models import Team
from wuyi.lib.errors import Refused

from .models import AreaKind, Method

ORGANISERS = {Role.SECRETARY}
READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}

MAX_ROUNDS_PER_DAY = 12
MIN_WINDOW, MAX_WINDOW = 15, 240
# How far ahead a roster may be generated (a secretary planning the weekend).
MAX_DAYS_AHEAD = 7
MAX_BAGS = 500

MSG_TIMES_NONE = _("Give at least one time a day, e.g. 08:00.")
MSG_TIMES_MANY = _("At most %(max)d rounds a day.")
MSG_TIME_BAD = _("“%(value)s” is not a time of day; write it as 08:00.")
MSG_WINDOW = _("Between %(min)d and %(max)d minutes.")
MSG_DATE_PAST = _("Rosters are made for today or a later day, not for %(date)s.")
MSG_DATE_FAR = _("Rosters are made at most %(days)d days ahead.")
MSG_SCAN = _("Scan the code next to the area, then tap Done.")
MSG_QR_WRONG = _(
    "This is not the current code of this round's area: scan the code next to it. A sheet "
    "that was replaced no longer works."
)
MSG_OTHER_DAY = _("Only today's rounds are marked done; this round is of %(date)s.")
MSG_REASON = _("Say why the round is marked done without the code.")
MSG_NOT_SECRETARY = _("Only the community secretary marks a round done without the code.")


def may_organise(user: Any) -> bool:
    """Areas, rosters, reassigning rounds: the community secretary."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_read_rates(user: Any) -> bool:
    """Completion rates across compounds: staff and secretaries."""
    return active(user) and (user.is_superuser or user.role in READERS)


def serves(user: Any, compound_id: int) -> bool:
    """The user is a volunteer in a team that serves the compound."""
    return Team.compounds.through.objects.filter(
        compound_id=compound_id, team__memberships__volunteer__user=user
    ).exists()


def may_do(user: Any, round: Any) -> bool:
    """The secretary, the round's cleaner, or a colleague standing in (anyone whose team serves
    the compound)."""
    if may_organise(user):
        return True
    if round.assignee is not None and round.assignee.user_id == user.pk:
        return True
    return serves(user, round.compound_id)


def may_override(user: Any) -> bool:
    """Marking a round done without the area's code (a torn sheet, a dead phone), with a
    reason: the community secretary."""
    return may_organise(user)


def check_round_day(round: Any, now: datetime.datetime) -> None:
    """A round is marked done on its own day (Asia/Shanghai), or within its window when that
    runs past midnight: a round of tomorrow, or of last week, is refused."""
    if round.date == timezone.localdate(now) or round.due_at <= now < round.window_ends_at:
        return
    raise Refused(MSG_OTHER_DAY % {"date": round.date.strftime("%m-%d")})


# The area's printed code: its id and key, signed with the project's secret. A code cannot be
# made up from an id (the old codes were /sanitation/a/<id>/), and a new key voids the sheet.
_QR_SALT = "sanitation.area-qr"


def qr_token(area: Any) -> str:
    """What the area's QR code carries (in the address it opens)."""
    return signing.Signer(salt=_QR_SALT).sign(f"{area.pk}.{area.qr_key}")


def qr_parse(value: Any) -> tuple[int, str] | None:
    """(area id, key) of a scanned code: the token, or the whole address it came in. None when
    it is none of the project's codes (made up, cut short, signed with another secret)."""
    text = str(value or "").strip()
    if len(text) > 500:
        return None
    if "/" in text:
        segments = [part for part in text.split("?")[0].split("/") if part]
        text = unquote(segments[-1]) if segments else ""
    try:
        unsigned = signing.Signer(salt=_QR_SALT).unsign(text)
    except signing.BadSignature:
        return None
    area_id, _dot, key = unsigned.partition(".")
    if not area_id.isdigit() or not key:
        return None
    return int(area_id), key


def qr_matches(area: Any, value: Any) -> bool:
    """The scanned code is the area's current one."""
    parsed = qr_parse(value)
    return parsed is not None and parsed == (area.pk, area.qr_key)


def roster_statuses() -> list[str]:
    """The control statuses whose compounds get a daily roster (settings)."""
    return list(settings.WUYI_ROSTER_STATUSES)


def roster_time() -> datetime.time:
    """When the day's roster is made, Asia/Shanghai (WUYI_ROSTER_TIME, 05:00)."""
    hour, minute = (int(part) for part in settings.WUYI_ROSTER_TIME.split(":"))
    return datetime.time(hour, minute)


_TIME_RE = re.compile(r"^(\d{1,2})[:：.](\d{2})$")


def parse_time(value: Any) -> datetime.time:
    if isinstance(value, datetime.time):
        return value.replace(second=0, microsecond=0)
    text = str(value).strip()
    match = _TIME_RE.match(text)
    if match:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return datetime.time(hour, minute)
    raise Refused(MSG_TIME_BAD % {"value": text[:20]}, field="times")


def clean_times(value: Any) -> list[str]:
    """An area's round times as sorted "HH:MM" strings: one to MAX_ROUNDS_PER_DAY, no
    duplicates. Accepts a list or text separated by spaces, commas or 、."""
    if isinstance(value, str):
        items: list[Any] = [t for t in re.split(r"[\s,，、;；]+", value) if t]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise Refused(MSG_TIMES_NONE, field="times")
    if len(items) > MAX_ROUNDS_PER_DAY:
        raise Refused(MSG_TIMES_MANY % {"max": MAX_ROUNDS_PER_DAY}, field="times")
    times = sorted({parse_time(item) for item in items})
    if not times:
        raise Refused(MSG_TIMES_NONE, field="times")
    return [t.strftime("%H:%M") for t in times]


def clean_window(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if not MIN_WINDOW <= minutes <= MAX_WINDOW:
        raise Refused(MSG_WINDOW % {"min": MIN_WINDOW, "max": MAX_WINDOW}, field="window_minutes")
    return minutes


def check_roster_date(day: datetime.date, today: datetime.date) -> None:
    if day < today:
        raise Refused(MSG_DATE_PAST % {"date": day.isoformat()}, field="date")
    if (day - today).days > MAX_DAYS_AHEAD:
        raise Refused(MSG_DATE_FAR % {"days": MAX_DAYS_AHEAD}, field="date")


# What a compound starts with: per kind, the method and the times of its rounds.
DEFAULTS: dict[str, tuple[str, list[str]]] = {
    AreaKind.LIFT: (Method.WIPE, ["08:00", "12:00", "16:00", "20:00"]),
    AreaKind.STAIRWELL: (Method.SPRAY, ["09:00", "15:00"]),
    AreaKind.LOBBY: (Method.VENTILATION, ["10:00", "16:00"]),
    AreaKind.GATE: (Method.SPRAY, ["07:00", "12:00", "18:00"]),
    AreaKind.GARBAGE: (Method.SPRAY, ["08:30", "18:30"]),
    AreaKind.MEDICAL_WASTE: (Method.SPRAY, ["09:30", "17:30"]),
    AreaKind.TOILET: (Method.WIPE, ["08:00", "13:00", "18:00"]),
    AreaKind.OTHER: (Method.SPRAY, ["10:00"]),
}
# Residential buildings of seven floors or more have lifts (GB 50096).
LIFT_FROM_FLOORS = 7


def default_areas(buildings: list[Any]) -> list[tuple[str, Any, str]]:
    """The areas a compound starts with, as (kind, building or None, Chinese name): each
    building's stairwell, lobby and (from seven floors) lift; the compound's gate, garbage
    point and medical-waste bin."""
    areas: list[tuple[str, Any, str]] = []
    for b in buildings:
        label = building_label(b.number)
        if b.floor_count >= LIFT_FROM_FLOORS:
            areas.append((AreaKind.LIFT, b, f"{label}电梯"))
        areas.append((AreaKind.STAIRWELL, b, f"{label}楼道"))
        areas.append((AreaKind.LOBBY, b, f"{label}大堂"))
    areas += [
        (AreaKind.GATE, None, "小区大门"),
        (AreaKind.GARBAGE, None, "垃圾收集点"),
        (AreaKind.MEDICAL_WASTE, None, "医疗废物暂存桶"),
    ]
    return areas
