"""Who may organise volunteers, and the rules of a shift."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role

ORGANISERS = {Role.SECRETARY}
DUTY_READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}
# Those whose home page is today's tasks.
FIELD_ROLES = {Role.VOLUNTEER, Role.MEDIC}


def may_organise(user: Any) -> bool:
    """Teams, branches, volunteers, shift plans: the community secretary."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_read_duty(user: Any) -> bool:
    """People on duty per compound, hours per team."""
    return active(user) and (user.is_superuser or user.role in DUTY_READERS)


def works_in_the_field(user: Any) -> bool:
    return active(user) and user.role in FIELD_ROLES


MAX_SHIFT_HOURS = 16
MAX_PLAN_DAYS = 31
MSG_SHIFT_ORDER = _("A shift must end after it starts.")
MSG_SHIFT_LONG = _("A shift lasts at most %(hours)d hours.") % {"hours": MAX_SHIFT_HOURS}
MSG_PLAN_RANGE = _("Plan at most %(days)d days at a time, and end on or after the first day.")
