"""The one place that answers "what may this user see" and "what may this user do".

Every domain model's manager is built from ScopedQuerySet and declares, per level of the place
tree, the lookup that leads from its rows to that level's id. visible_to(user) then filters by
the user's node. Nothing else in the project decides visibility.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

from django.db import models

from .models import Level, Role


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, nothing, or everything under one node."""

    everything: bool = False
    level: Level | None = None
    place_id: int | None = None

    @property
    def nothing(self) -> bool:
        return not self.everything and self.place_id is None


NOTHING = Scope()
EVERYTHING = Scope(everything=True)


def scope_of(user: Any) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    level = getattr(user, "level", None)
    if level is None or user.place_id is None:
        return NOTHING
    return Scope(level=level, place_id=user.place_id)


class ScopedQuerySet(models.QuerySet):
    """Subclasses set scope_lookups: {Level: "lookup__to__that_level_id"}."""

    scope_lookups: ClassVar[dict[Level, str]] = {}

    def visible_to(self, user: Any) -> "ScopedQuerySet":
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        if scope.nothing or scope.level not in self.scope_lookups:
            return self.none()
        # Each lookup ends in an id equality, so a join through a reverse relation matches at
        # most one related row per row: no duplicates, no DISTINCT needed.
        return self.filter(**{self.scope_lookups[scope.level]: scope.place_id})


# What a role may do. Reading is governed by scope; these govern changes.
STATUS_CHANGERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}


def may_change_status(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in STATUS_CHANGERS


def may_see_overview(user: Any) -> bool:
    """District and sub-district staff (and secretaries, for their own community)."""
    return may_change_status(user)


# The resident register: secretaries keep it; staff above read it (masked); field roles see the
# residents of their compound (masked) to serve them.
REGISTER_KEEPERS = {Role.SECRETARY}
FULL_PERSONAL_DATA = {Role.SECRETARY}


def may_edit_register(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in REGISTER_KEEPERS


def may_see_full_personal_data(user: Any) -> bool:
    """Full ID numbers and phones, on an explicit request that is recorded."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role in FULL_PERSONAL_DATA
