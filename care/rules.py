"""Who organises care, who records a check, how often each ledger category is checked, and the
check's status graph. Forms, the API, the admin and the services all ask here."""

import datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from residents.models import Category
from wuyi.lib import cn
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import Graph

from .models import NeedKind, NeedStatus, Outcome

ORGANISERS = {Role.SECRETARY}
READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}

NOTE_MAX = 500
MAX_EVERY_DAYS = 30
# How far ahead checks may be generated (a secretary planning the weekend).
MAX_DAYS_AHEAD = 7

MSG_EVERY = _("Between 1 and %(max)d days.")
MSG_DATE_PAST = _("Welfare checks are made for today or a later day, not for %(date)s.")
MSG_DATE_FAR = _("Welfare checks are made at most %(days)d days ahead.")
MSG_NOT_YOURS = _(
    "This check is no longer yours: it was given to someone else. Nothing was recorded."
)
MSG_OTHER_DAY = _("Only today's checks are recorded; this one is of %(date)s.")
MSG_NEED_EMPTY = _("Say what is needed.")
MSG_MOOD = _("Choose how the resident is.")


def may_organise(user: Any) -> bool:
    """Care plans, reassigning checks, handling needs: the community secretary."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_read(user: Any) -> bool:
    """The day's checks across compounds and the residents not yet served: staff and
    secretaries."""
    return active(user) and (user.is_superuser or user.role in READERS)


def is_assignee(user: Any, check: Any) -> bool:
    return bool(
        active(user) and check.volunteer_id is not None and check.volunteer.user_id == user.pk
    )


def may_record(user: Any, check: Any) -> bool:
    """The volunteer the check is given to, or the secretary."""
    return may_organise(user) or is_assignee(user, check)


CHECK = Graph(
    "welfare_check",
    Outcome,
    {
        Outcome.OPEN: {
            Outcome.PHONE: may_record,
            Outcome.VISITED: may_record,
            Outcome.NOT_REACHED: may_record,
        },
        # Not reached this morning, reached in the afternoon.
        Outcome.NOT_REACHED: {Outcome.PHONE: may_record, Outcome.VISITED: may_record},
        Outcome.PHONE: {},
        Outcome.VISITED: {},
    },
    field="outcome",
)

NEED = Graph("need", NeedStatus, {NeedStatus.OPEN: {NeedStatus.HANDLED: may_organise}})

REACHED = {Outcome.PHONE, Outcome.VISITED}


def default_plan() -> dict[str, int]:
    """{category: every N days} for a community without a plan of its own
    (settings.WUYI_CARE_DEFAULT, "elderly_alone:1" by default)."""
    plan: dict[str, int] = {}
    for item in settings.WUYI_CARE_DEFAULT:
        category, _sep, days = item.partition(":")
        if category in Category.values:
            plan[category] = max(1, min(MAX_EVERY_DAYS, int(days or 1)))
    return plan


def due_on(day: datetime.date, every_days: int) -> bool:
    """Every N days, counted from a fixed day, so all communities check on the same days and a
    job run twice on one day agrees with itself."""
    return day.toordinal() % max(1, every_days) == 0


def clean_every_days(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise Refused(MSG_EVERY % {"max": MAX_EVERY_DAYS}, field="every_days") from None
    if not 1 <= days <= MAX_EVERY_DAYS:
        raise Refused(MSG_EVERY % {"max": MAX_EVERY_DAYS}, field="every_days")
    return days


def clean_note(value: Any, *, field: str = "note") -> str:
    """Free text from a phone: no control characters, at most NOTE_MAX characters."""
    return cn.clean_text(value, max_length=NOTE_MAX, field=field)


def clean_need_kind(value: Any) -> str:
    if value in NeedKind.values:
        return str(value)
    raise Refused(_("Choose what kind of need it is."), field="need_kind")


def check_generate_date(day: datetime.date, today: datetime.date) -> None:
    if day < today:
        raise Refused(MSG_DATE_PAST % {"date": day.isoformat()}, field="date")
    if day > today + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise Refused(MSG_DATE_FAR % {"days": MAX_DAYS_AHEAD}, field="date")


def welfare_time() -> datetime.time:
    hour, minute = (int(p) for p in settings.WUYI_WELFARE_TIME.split(":"))
    return datetime.time(hour, minute)
