"""The access mechanism: what a user may see, and loading one object for a user.

A user's jurisdiction is the set of places they are posted to (postings live with the place
tree, in compounds, which registers where to read them with :func:`set_jurisdiction_source`).
Every domain model's manager is built from :class:`ScopedQuerySet` and declares, per level of
the place tree, the lookup that leads from its rows to that level's id; ``visible_to(user)``
keeps the rows under any of the user's places. Nothing else in the project decides visibility.

The rules of who may *do* what live with the apps that own the actions (``rules.py``); this
module only offers :func:`get_visible_or_404`, which loads an object through ``visible_to``,
answers 404 outside the jurisdiction and 403 when a rule forbids the action on a visible object.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar, cast

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404

from .models import Level

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, or everything under some places ({level: ids})."""

    everything: bool = False
    places: tuple[tuple[Level, tuple[int, ...]], ...] = ()

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.places

    def ids(self, level: str) -> tuple[int, ...]:
        by_level: dict[str, tuple[int, ...]] = dict(self.places)
        return by_level.get(level, ())

    @property
    def single(self) -> tuple[Level, int] | None:
        """(level, id) when the user is posted to exactly one place."""
        if len(self.places) == 1 and len(self.places[0][1]) == 1:
            level, ids = self.places[0]
            return level, ids[0]
        return None


NOTHING = Scope()
EVERYTHING = Scope(everything=True)

# Where postings are read: set by the app that owns the place tree, in its ready().
_source: Callable[[Any], Iterable[tuple[str, int]]] | None = None


def set_jurisdiction_source(source: Callable[[Any], Iterable[tuple[str, int]]]) -> None:
    """`source(user)` yields (level, place id) for every place the user is posted to."""
    global _source
    _source = source


_CACHE = "_wuyi_scope"


def scope_of(user: Any) -> Scope:
    """The user's scope; read once per user object (a request loads its user afresh)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    cached = user.__dict__.get(_CACHE)
    if cached is not None:
        return cached
    by_level: dict[str, set[int]] = {}
    for level, place_id in _source(user) if _source is not None else ():
        by_level.setdefault(level, set()).add(place_id)
    scope = Scope(
        places=tuple(
            (Level(level), tuple(sorted(ids)))
            for level, ids in sorted(by_level.items())
            if level in Level.values
        )
    )
    user.__dict__[_CACHE] = scope
    return scope


def forget_scope(user: Any) -> None:
    """Drop the scope cached on a user object (after its postings changed)."""
    if user is not None:
        user.__dict__.pop(_CACHE, None)


def _single_valued(model: type[models.Model], lookup: str) -> bool:
    """True when the lookup follows forward relations only, so that it matches at most one
    related row per row (a filter on it cannot duplicate rows)."""
    opts = model._meta
    for part in lookup.split("__")[:-1]:
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return False
        if not (field.many_to_one or field.one_to_one) or field.auto_created:
            return False
        # A forward relation (checked above) always has a related model.
        opts = cast("type[models.Model]", field.related_model)._meta
    return True


class ScopedQuerySet(models.QuerySet):
    """Subclasses set scope_lookups: {Level: "lookup__to__that_level_id"}, or a tuple of
    lookups when a row may reach that level by several paths (any of them admits it)."""

    scope_lookups: ClassVar[dict[Level, str | tuple[str, ...]]] = {}

    def visible_to(self, user: Any) -> Self:
        scope = scope_of(user)
        if scope.everything:
            return self.all()
        condition = Q()
        matched = False
        for level, ids in scope.places:
            lookups = self.scope_lookups.get(level)
            if lookups is None:
                continue
            matched = True
            for lookup in (lookups,) if isinstance(lookups, str) else lookups:
                test = {lookup: ids[0]} if len(ids) == 1 else {f"{lookup}__in": ids}
                if _single_valued(self.model, lookup):
                    # A column of this row or of a parent: no join can duplicate a row.
                    condition |= Q(**test)
                else:
                    # Through a reverse relation (a district seen from one of its compounds):
                    # a subquery, so that a row reached twice is listed once, no DISTINCT.
                    inner = self.model._base_manager.filter(**test).values("pk")
                    condition |= Q(pk__in=inner)
        if not matched:
            return self.none()
        return self.filter(condition)


def get_visible_or_404(
    queryset: "models.QuerySet[M] | type[M]",
    user: Any,
    *,
    may: Callable[[Any], bool] | None = None,
    **lookup: Any,
) -> M:
    """The object matching `lookup` among those the user may see.

    Outside the jurisdiction (or not there at all) it is a 404, so ids are not confirmed to
    outsiders; when `may(user)` says the action is forbidden on a visible object, a 403. Views
    and the API both call this; DRF answers Http404 and PermissionDenied the same way.
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        # Every model loaded here has a manager built from ScopedQuerySet; the stubs know
        # neither that nor the DoesNotExist each concrete model gets.
        obj = queryset.visible_to(user).get(**lookup)  # type: ignore[attr-defined]
    except (queryset.model.DoesNotExist, ValueError, TypeError):  # type: ignore[attr-defined]
        raise Http404 from None
    if may is not None and not may(user):
        raise PermissionDenied
    return obj


def require(allowed: bool, message: Any = None, *, hide: bool = False) -> None:
    """The one page-permission check: a view passes the answer of one of its app's `may_*`.

    Refused, it is a 403 with `message` (a sentence the user reads on the 403 page), or a 404
    with `hide=True` where even knowing the page exists says too much (a volunteer on the
    register). Every view checks a role this way; objects are loaded with get_visible_or_404.
    """
    if allowed:
        return
    if hide:
        raise Http404
    raise PermissionDenied(message) if message else PermissionDenied


def active(user: Any) -> bool:
    """A signed-in, active account: the first question of every app's `may_*` rule."""
    return bool(user is not None and user.is_authenticated and user.is_active)
