"""Where an SMS is from: the place a message concerns (its community pays for it) and the one
place a user sends from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.access import scope_of
from accounts.models import Level
from compounds.models import Community, Compound, Subdistrict


@dataclass(frozen=True)
class Place:
    district_id: int | None = None
    subdistrict_id: int | None = None
    community_id: int | None = None
    compound_id: int | None = None


def place_of(*, compound_id: int | None = None, community_id: int | None = None) -> Place:
    """The place a message concerns, from the district down to what is known."""
    if compound_id:
        compound = Compound.objects.get(pk=compound_id)
        return Place(
            compound.district_id, compound.subdistrict_id, compound.community_id, compound.pk
        )
    if community_id:
        community = Community.objects.select_related("subdistrict").get(pk=community_id)
        return Place(community.subdistrict.district_id, community.subdistrict_id, community.pk)
    return Place()


_CACHE = "_wuyi_sends_from"


def place_of_user(user: Any) -> Place:
    """Where a user sends from: the one place they are posted to (none: no place). Read once
    per user object, as its scope is (a request loads its user afresh, and the compose page
    and its services ask more than once), and again once the scope was read again
    (accounts.access.forget_scope after the postings changed)."""
    scope = scope_of(user)
    store = getattr(user, "__dict__", None)
    cached = store.get(_CACHE) if store is not None else None
    if cached is not None and cached[0] is scope:
        return cached[1]
    place = _place_of_scope(scope)
    if store is not None:
        store[_CACHE] = (scope, place)
    return place


def _place_of_scope(scope: Any) -> Place:
    single = scope.single
    if single is None:
        return Place()
    level, pk = single
    if level == Level.COMPOUND:
        return place_of(compound_id=pk)
    if level == Level.COMMUNITY:
        return place_of(community_id=pk)
    if level == Level.SUBDISTRICT:
        return Place(Subdistrict.objects.get(pk=pk).district_id, pk)
    return Place(pk)
