"""Who may act on compounds. Reading is governed by visible_to; these govern changes."""

from typing import Any

from accounts.models import Role

STATUS_CHANGERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}


def may_change_status(user: Any) -> bool:
    """Move a compound between control statuses and record a new positive case."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in STATUS_CHANGERS
