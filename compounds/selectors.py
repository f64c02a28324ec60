"""Reads on the place tree that are more than a filter: lists, counts per area, drill-down."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, models
from django.db.models import Count, Q, QuerySet

from accounts.access import scope_of
from accounts.models import ROLE_LEVEL, Level, User
from wuyi.replica import reading_connection

from .models import (
    Building,
    Community,
    Compound,
    ControlStatus,
    District,
    PositiveCase,
    Posting,
    StatusChange,
    Subdistrict,
)


def postings_of(user: User) -> list[tuple[str, int]]:
    """(level, place id) of every place the user is posted to: one indexed query. The
    jurisdiction source accounts.access reads (registered in CompoundsConfig.ready), on every
    scoped page: its SQL is written once (_postings_sql), as the ORM would write it, since
    Django building it anew took three quarters of the query's time."""
    places = []
    # Where the ORM would read it: the replica on a dashboard, if there is one.
    with reading_connection().cursor() as cursor:
        cursor.execute(_postings_sql(), [user.pk])
        rows = cursor.fetchall()
    for row in rows:
        for level, place_id in zip(Posting.PLACE_FIELDS, row, strict=True):
            if place_id is not None:
                places.append((level, place_id))
    return places


@functools.cache
def _postings_sql() -> str:
    """SELECT district_id, subdistrict_id, community_id, compound_id FROM the postings WHERE
    user_id = %s, with the names the models give (the same on every database Django runs)."""
    opts = Posting._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(cast("models.ForeignKey", opts.get_field(name)).get_attname_column()[1])

    columns = ", ".join(column(f) for f in Posting.PLACE_FIELDS)
    return f"SELECT {columns} FROM {quote(opts.db_table)} WHERE {column('user')} = %s"  # noqa: S608


PLACE_MODELS: dict[str, type[District | Subdistrict | Community | Compound]] = {
    Level.DISTRICT: District,
    Level.SUBDISTRICT: Subdistrict,
    Level.COMMUNITY: Community,
    Level.COMPOUND: Compound,
}


def place_of_user(
    user: Any, *, level: str | None = None
) -> District | Subdistrict | Community | Compound | None:
    """The one place a user is posted to (a secretary's community, a district officer's
    district): None for a user posted to none or several places, or, with `level`, to a place
    of another level. One query at most (the postings are read once per request by
    accounts.access.scope_of). The one home of "the user's place"."""
    single = scope_of(user).single
    if single is None or (level is not None and single[0] != level):
        return None
    model = PLACE_MODELS.get(single[0])
    return model._default_manager.filter(pk=single[1]).first() if model else None


def place_chain(level: str, place_id: int) -> dict[str, int]:
    """{level: id} of a place and its ancestors, from the district down: one query."""
    if level == Level.DISTRICT:
        return {Level.DISTRICT: place_id}
    if level == Level.SUBDISTRICT:
        district = Subdistrict.objects.values_list("district_id", flat=True).get(pk=place_id)
        return {Level.DISTRICT: district, Level.SUBDISTRICT: place_id}
    if level == Level.COMMUNITY:
        subdistrict, district = Community.objects.values_list(
            "subdistrict_id", "subdistrict__district_id"
        ).get(pk=place_id)
        return {Level.DISTRICT: district, Level.SUBDISTRICT: subdistrict, Level.COMMUNITY: place_id}
    community, subdistrict, district = Compound.objects.values_list(
        "community_id", "subdistrict_id", "district_id"
    ).get(pk=place_id)
    return {
        Level.DISTRICT: district,
        Level.SUBDISTRICT: subdistrict,
        Level.COMMUNITY: community,
        Level.COMPOUND: place_id,
    }


def common_place(places: Sequence[tuple[str, int]]) -> dict[str, int]:
    """The narrowest place that holds all of `places`, as {level: id} from the district down
    ({} when they lie in different districts, or there are none)."""
    chains = [place_chain(level, place_id) for level, place_id in places]
    if not chains:
        return {}
    common: dict[str, int] = {}
    for level in (Level.DISTRICT, Level.SUBDISTRICT, Level.COMMUNITY, Level.COMPOUND):
        values = {chain.get(level) for chain in chains}
        if len(values) != 1 or None in values:
            break
        common[level] = cast(int, values.pop())  # the one value, not None (checked above)
    return common


def compound_list(*, user: User, status: str = "", query: str = "") -> QuerySet[Compound]:
    """The compounds a user may see, filtered by status and by name, code or address."""
    qs = Compound.objects.visible_to(user).select_related("community")
    if status in ControlStatus.values:
        qs = qs.filter(status=status)
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(address__icontains=query)
            | Q(community__name__icontains=query)
        )
    return qs.order_by("community__code", "name")


def building_sort_key(building: Building) -> tuple[int, str]:
    """Building 2 before building 10; names that are not numbers after all numbers."""
    number = building.number
    return (int(number), "") if number.isdigit() else (1 << 30, number)


@dataclass
class CompoundDetail:
    compound: Compound
    buildings: list[Building]
    changes: list[StatusChange]
    cases: list[PositiveCase] = field(default_factory=list)

    @property
    def history(self) -> list[tuple[str, Any]]:
        """Status changes and positive cases, newest first: ("change" | "case", row)."""
        entries: list[tuple[str, Any, Any]] = [("change", c, c.changed_at) for c in self.changes]
        entries += [("case", c, c.recorded_at) for c in self.cases]
        entries.sort(key=lambda entry: entry[2], reverse=True)
        return [(kind, row) for kind, row, _at in entries]


def compound_detail(*, user: User, compound_id: int, history_limit: int = 50) -> CompoundDetail:
    """A compound with its buildings, its latest status changes and positive cases. Four
    queries."""
    compound = (
        Compound.objects.visible_to(user)
        .select_related("community", "subdistrict", "district")
        .get(pk=compound_id)
    )
    buildings = sorted(compound.buildings.all(), key=building_sort_key)
    changes = list(
        compound.status_changes.select_related("changed_by").order_by("-changed_at", "-id")[
            :history_limit
        ]
    )
    cases = list(
        compound.positive_cases.select_related("recorded_by", "building").order_by(
            "-recorded_at", "-id"
        )[:history_limit]
    )
    return CompoundDetail(compound=compound, buildings=buildings, changes=changes, cases=cases)


def _status_aggregates() -> dict:
    aggregates = {"total": Count("id")}
    for value in ControlStatus.values:
        aggregates[value] = Count("id", filter=Q(status=value))
    return aggregates


@dataclass
class AreaRow:
    """One row of the overview: an area (or a compound) and its compounds counted by status."""

    id: int
    name: str
    level: str
    counts: dict[str, int]
    status: str = ""

    @property
    def total(self) -> int:
        return self.counts.get("total", 0)

    @property
    def by_status(self) -> list[tuple[str, int]]:
        """(status, count) in the order of ControlStatus, for tables and bars."""
        return [(value, self.counts.get(value, 0)) for value in ControlStatus.values]


@dataclass
class Overview:
    level: str  # the level of the rows
    rows: list[AreaRow]
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def totals_by_status(self) -> list[tuple[str, int]]:
        return [(value, self.totals.get(value) or 0) for value in ControlStatus.values]


# For an overview rooted at a level: the level of its rows and the compound column they group by.
_CHILD: dict[str | None, tuple[Level, str]] = {
    None: (Level.DISTRICT, "district_id"),
    Level.DISTRICT: (Level.SUBDISTRICT, "subdistrict_id"),
    Level.SUBDISTRICT: (Level.COMMUNITY, "community_id"),
}
_ROOT_FILTER: dict[str, str] = {
    Level.DISTRICT: "district_id",
    Level.SUBDISTRICT: "subdistrict_id",
    Level.COMMUNITY: "community_id",
}
_NAMES: dict[str, type[District] | type[Subdistrict] | type[Community]] = {
    Level.DISTRICT: District,
    Level.SUBDISTRICT: Subdistrict,
    Level.COMMUNITY: Community,
}


def status_overview(
    *, user: User, level: str | None = None, place_id: int | None = None
) -> Overview:
    """Compounds the user may see under one node, counted by control status per child area.

    Rooted at a community, the rows are the compounds themselves. Two or three queries whatever
    the number of compounds: one grouped count, one for the names, one for the totals.
    """
    compounds = Compound.objects.visible_to(user)
    if level is not None:
        compounds = compounds.filter(**{_ROOT_FILTER[level]: place_id})
    totals = compounds.aggregate(**_status_aggregates())

    if level == Level.COMMUNITY:
        rows = [
            AreaRow(
                id=c.id,
                name=c.name,
                level=Level.COMPOUND,
                counts={"total": 1, c.status: 1},
                status=c.status,
            )
            for c in compounds.order_by("name").only("id", "name", "status")
        ]
        return Overview(level=Level.COMPOUND, rows=rows, totals=totals)

    child_level, column = _CHILD[level]
    grouped = compounds.order_by().values(column).annotate(**_status_aggregates())
    counts_by_id = {row.pop(column): row for row in grouped}
    names = dict(
        _NAMES[child_level]
        .objects.filter(pk__in=counts_by_id)
        .order_by("code")
        .values_list("id", "name")
    )
    rows = [
        AreaRow(id=pk, name=name, level=child_level, counts=counts_by_id[pk])
        for pk, name in names.items()
    ]
    return Overview(level=child_level, rows=rows, totals=totals)


# ----------------------------------------------------------------------------- who to tell

# From narrow to wide: the place tree's levels as one reads it upwards.
UPWARDS = (Level.COMPOUND, Level.COMMUNITY, Level.SUBDISTRICT, Level.DISTRICT)


def users_posted_at(level: str, place_id: int, *, roles: Sequence[str] | None = None) -> list[User]:
    """The active users posted to this one place (not below it), each once, in id order."""
    postings = Posting.objects.filter(**{f"{level}_id": place_id}, user__is_active=True)
    if roles is not None:
        postings = postings.filter(user__role__in=list(roles))
    users = {p.user.pk: p.user for p in postings.select_related("user").order_by("user_id")}
    return list(users.values())


def _first_staffed_level(
    chain: dict[str, int], start: int, *, but: int | None = None
) -> list[User]:
    """Walking up `chain` from UPWARDS[start]: the users of the first level that has any."""
    for level in UPWARDS[start:]:
        if level not in chain:
            continue
        found = [u for u in users_posted_at(level, chain[level]) if u.pk != but]
        if found:
            return found
    return []


def staff_above(user: User, *, compound_id: int | None = None) -> list[User]:
    """Who stands one level above the user: for the compound an alert concerns (when given),
    else for each place the user is posted to. A volunteer or a medic at a compound: the
    community's secretary; a secretary: the sub-district's staff; sub-district staff: the
    district's. A level nobody is posted to is skipped, so that the alert reaches the next one
    up rather than no one. Empty only at the top (district staff, or nobody above at all)."""
    chains: list[tuple[dict[str, int], int]] = []
    if compound_id is not None:
        chain = place_chain(Level.COMPOUND, compound_id)
        own = {level for level, place_id in postings_of(user) if chain.get(level) == place_id}
        if not own:
            # Not posted in the compound's line (a superuser, a cadre moved on): from the level
            # their role works at.
            own = {ROLE_LEVEL[user.role]} if user.role in ROLE_LEVEL else {Level.COMPOUND}
        narrowest = min(UPWARDS.index(Level(level)) for level in own)
        chains.append((chain, narrowest + 1))
    else:
        for level, place_id in postings_of(user):
            chains.append((place_chain(level, place_id), UPWARDS.index(Level(level)) + 1))
    found: dict[int, User] = {}
    for chain, start in chains:
        for boss in _first_staffed_level(chain, start, but=user.pk):
            found.setdefault(boss.pk, boss)
    return list(found.values())


def staff_of(compound_id: int, *, role: str) -> list[User]:
    """The users of a role who answer for a compound at the level the role works at (the
    secretaries of its community, the medics of the compound itself); when there are none, the
    staff of the first level above that has any, so that what they should hear is not lost."""
    chain = place_chain(Level.COMPOUND, compound_id)
    level = ROLE_LEVEL.get(role, Level.COMMUNITY)
    found = users_posted_at(level, chain[level], roles=[role])
    if found:
        return found
    return _first_staffed_level(chain, UPWARDS.index(level) + 1)
