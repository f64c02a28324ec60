"""Who may read the overviews."""

from typing import Any

from accounts.models import Role

OVERVIEW_READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}


def may_see_overview(user: Any) -> bool:
    """District and sub-district staff, and secretaries for their own community."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in OVERVIEW_READERS


def may_read_reports(user: Any) -> bool:
    """A district's daily report holds every community of the district: district staff (of
    their own district) only."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role == Role.DISTRICT_STAFF
