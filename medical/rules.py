"""Who books escorts and moves them along, and what a booking or a schedule may say.

Forms, the API, the admin and the services all check here."""

import datetime
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import Graph

from .models import AmbulanceStatus, EscortKind, EscortStatus, ScheduleStatus

ORGANISERS = {Role.SECRETARY}
# Emergencies: the secretary or the compound's medical worker.
REPORTERS = {Role.SECRETARY, Role.MEDIC}
READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY, Role.MEDIC}

# A booking a few minutes late (the secretary typed slowly) is not "in the past".
PAST_GRACE = datetime.timedelta(minutes=10)
MAX_DAYS_AHEAD = 60
MAX_BOOK_DAYS = 14  # how far ahead the recurring job books
DEFAULT_BOOK_DAYS = 7
MIN_DURATION, MAX_DURATION = 15, 24 * 60
# How long an emergency is expected to hold its ambulance (for clashes with bookings).
EMERGENCY_MINUTES = 120

MSG_WEEKDAYS_NONE = _("Choose at least one weekday.")
MSG_WEEKDAY_BAD = _("“%(value)s” is not a weekday.")
MSG_PAST = _("%(time)s is in the past: only an emergency may be logged after the fact.")
MSG_FAR = _("Escorts are booked at most %(days)d days ahead.")
MSG_DURATION = _("Between %(min)d and %(max)d minutes.")


def may_organise(user: Any) -> bool:
    """Booking escorts, schedules, assigning ambulances: the community secretary."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_report_emergency(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in REPORTERS)


def may_read(user: Any) -> bool:
    """Escort lists, the board, coverage and statistics."""
    return active(user) and (user.is_superuser or user.role in READERS)


def may_move(user: Any, escort: Any) -> bool:
    """Moving an escort along: the secretary, the compound's medical worker, its escort or a
    member of its ambulance's crew."""
    if may_report_emergency(user):
        return True
    if not active(user):
        return False
    if escort.staff_id is not None and escort.staff.user_id == user.pk:
        return True
    if escort.ambulance_id is not None:
        return escort.ambulance.crew.filter(pk=user.pk).exists()
    return False


def may_see_escort(user: Any, escort: Any) -> bool:
    """One escort's page: those who read escorts, and whoever is on the job (a volunteer on
    the ambulance's crew sees the jobs 今日任务 gives them, not the compound's others)."""
    return may_read(user) or may_move(user, escort)


def may_schedule(user: Any, escort: Any) -> bool:
    """Giving an escort its ambulance: the secretary; an emergency's, whoever may report one
    (the nearest free ambulance is sent at once)."""
    if escort.kind == EscortKind.EMERGENCY:
        return may_report_emergency(user)
    return may_organise(user)


E = EscortStatus
# One step at a time along requested → scheduled → dispatched → at hospital → returned (or
# admitted); cancelled any time before the hospital. Scheduling is giving it an ambulance
# (escort_assign, or an emergency's dispatch, which takes both steps at once); the rest is
# escort_advance, by the escort's crew or secretary.
ESCORT = Graph(
    "escort",
    EscortStatus,
    {
        E.REQUESTED: {E.SCHEDULED: may_schedule, E.CANCELLED: may_move},
        E.SCHEDULED: {E.DISPATCHED: may_move, E.CANCELLED: may_move},
        E.DISPATCHED: {E.AT_HOSPITAL: may_move, E.CANCELLED: may_move},
        E.AT_HOSPITAL: {E.RETURNED: may_move, E.ADMITTED: may_move},
        E.RETURNED: {},
        E.CANCELLED: {},
        E.ADMITTED: {},
    },
)

SC = ScheduleStatus
# A recurring treatment is paused and resumed at will; ended, it stays ended (a new one is
# made instead).
SCHEDULE = Graph(
    "schedule",
    ScheduleStatus,
    {
        SC.ACTIVE: {SC.PAUSED: may_organise, SC.ENDED: may_organise},
        SC.PAUSED: {SC.ACTIVE: may_organise, SC.ENDED: may_organise},
        SC.ENDED: {},
    },
)


def may_keep_fleet(user: Any) -> bool:
    """Taking an ambulance out of service and back: the secretary (and the city's admins)."""
    return may_organise(user)


A = AmbulanceStatus
# On a job and back is the escorts' doing (a dispatch, the last job of it closed), checked
# with by=None; out of service and back is the secretary's, not while the ambulance is on a job.
AMBULANCE = Graph(
    "ambulance",
    AmbulanceStatus,
    {
        A.AVAILABLE: {A.ON_JOB: None, A.OUT_OF_SERVICE: may_keep_fleet},
        A.ON_JOB: {A.AVAILABLE: None},
        A.OUT_OF_SERVICE: {A.AVAILABLE: may_keep_fleet},
    },
)


WEEKDAY_WORDS = {
    "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip


def clean_weekdays(value: Any) -> list[int]:
    """Weekdays as sorted ints, Monday 0: from a list of ints or strings ("0", "mon", "一")
    or text ("一、三、五"). None at all is refused."""
    if isinstance(value, str):
        items: list[Any] = [t for t in re.split(r"[\s,，、;；周]+", value) if t]
    elif isinstance(value, list | tuple | set):
        items = list(value)
    else:
        items = []
    days = set()
    for item in items:
        text = str(item).strip().lower()[:10]
        if text.isdigit() and int(text) <= 6:
            days.add(int(text))
        elif text[:3] in WEEKDAY_WORDS:
            days.add(WEEKDAY_WORDS[text[:3]])
        else:
            raise Refused(MSG_WEEKDAY_BAD % {"value": text}, field="weekdays")
    if not days:
        raise Refused(MSG_WEEKDAYS_NONE, field="weekdays")
    return sorted(days)


def clean_duration(value: Any) -> int:
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        minutes = -1
    if not MIN_DURATION <= minutes <= MAX_DURATION:
        raise Refused(
            MSG_DURATION % {"min": MIN_DURATION, "max": MAX_DURATION}, field="duration_minutes"
        )
    return minutes


def check_time(at: datetime.datetime, now: datetime.datetime, *, emergency: bool) -> None:
    """A booking is for later; an emergency may be logged after the fact."""
    if emergency:
        if at > now + PAST_GRACE:
            raise Refused(_("An emergency is logged now or after the fact."), field="scheduled_at")
        return
    if at < now - PAST_GRACE:
        raise Refused(
            MSG_PAST % {"time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")},
            field="scheduled_at",
        )
    if at > now + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise Refused(MSG_FAR % {"days": MAX_DAYS_AHEAD}, field="scheduled_at")


def clean_book_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= MAX_BOOK_DAYS:
        raise Refused(
            _("Book between 1 and %(max)d days ahead.") % {"max": MAX_BOOK_DAYS}, field="days"
        )
    return days


_TIME_RE = re.compile(r"^(\d{1,2})[:：.](\d{2})$")


def parse_time(value: Any) -> datetime.time:
    """A pickup time: a time, or text such as 07:30 / 7：30."""
    if isinstance(value, datetime.time):
        return value.replace(second=0, microsecond=0)
    text = str(value or "").strip()
    match = _TIME_RE.match(text)
    if match:
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return datetime.time(hour, minute)
    raise Refused(_("Give the pickup time, e.g. 07:30."), field="time")
