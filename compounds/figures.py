"""Figures, alerts and charts the district dashboards show, offered by every app without the
dashboards importing any of them (DESIGN.md: dashboards reads figure providers).

An app registers a provider from its plugins.py (imported in its AppConfig.ready()). A provider
gets the places to count (`Places`: the compounds a user may see under one node, as an
unevaluated queryset) and returns a `Contribution`. It must aggregate in the database with a
constant number of queries, whatever the number of compounds: filter on
`compound__in=places.compound_ids()` (or `community_id__in=places.community_ids()`), never loop
over compounds. An app that is not installed simply contributes nothing.
"""

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

Number = int | float | None


@dataclass(frozen=True)
class Places:
    """What a provider counts: `compounds` (a Compound queryset, already scoped to the user and
    the node, not evaluated), the local `day` and `now` the figures are for, and `brief` (the
    daily report: figures only, no charts or alerts)."""

    compounds: Any
    day: datetime.date
    now: datetime.datetime
    user: Any = None
    brief: bool = False
    # The daily report: each figure's value for each community too (`Figure.per`), counted in
    # the same queries grouped by community (`tally`), not one round of queries per community.
    by_community: bool = False

    def compound_ids(self) -> Any:
        """A subquery of the compounds' ids, for `compound__in=`."""
        return self.compounds.order_by().values("pk")

    def community_ids(self) -> Any:
        """A subquery of the communities the compounds lie in, for `community__in=`."""
        return self.compounds.order_by().values("community_id")


@dataclass(frozen=True)
class Figure:
    """One number on the overview: what it counts (`label`, `note`), its `value` (None: nothing
    to count yet), where the list behind it is (`url`), and the `section` it belongs to (also
    the daily report's sheet)."""

    key: str
    section: str
    label: str
    value: Number
    unit: str = ""
    note: str = ""
    url: str = ""
    order: int = 100
    # With `Places.by_community`: the value for each community id (`Split`: a community
    # missing from it has the split's default).
    per: "Split | None" = None


class Split(dict):
    """Values by community id; a community not in it has `default` (0 for a count, None for a
    figure with nothing to count)."""

    def __init__(self, values: Any = (), default: Number = 0) -> None:
        super().__init__(values)
        self.default = default

    def __missing__(self, key: Any) -> Number:
        return self.default

    def map(self, fn: Callable[[Any], Number], default: Number = None) -> "Split":
        """fn of each value (the default: fn of this split's default, unless given)."""
        return Split({k: fn(v) for k, v in self.items()}, default)


@dataclass
class Tally:
    """What `tally` counted: `total[name]` over the places (also `tally[name]`) and, with
    `Places.by_community`, `per[community id][name]`."""

    total: dict[str, Any]
    per: dict[Any, dict[str, Any]] | None = None

    def __getitem__(self, name: str) -> Any:
        return self.total[name]

    def split(self, name: str, default: Number = 0) -> "Split | None":
        """The values of `name` by community (None when not counted by community)."""
        if self.per is None:
            return None
        return Split({c: row[name] for c, row in self.per.items()}, default)


def _combined(aggregate: Any, values: list[Any]) -> Any:
    """The total of per-community aggregates: the largest of maxima, the smallest of minima,
    the sum of counts and sums (a distinct count summed over communities: each community's
    distinct things, added)."""
    from django.db.models import Count, Max, Min

    present = [v for v in values if v is not None]
    if isinstance(aggregate, Max):
        return max(present, default=None)
    if isinstance(aggregate, Min):
        return min(present, default=None)
    if isinstance(aggregate, Count):
        return sum(present)
    return sum(present) if present else None


def tally(places: "Places", queryset: Any, *, community: str, **aggregates: Any) -> Tally:
    """`queryset.aggregate(**aggregates)` in one query; with `places.by_community` the same
    query grouped by `community` (the lookup of the row's community id, e.g.
    "compound__community_id"), totals added up here."""
    from django.db.models import F

    queryset = queryset.order_by()
    if not places.by_community:
        return Tally(queryset.aggregate(**aggregates))
    rows = queryset.values(community_key=F(community)).annotate(**aggregates)
    per = {row.pop("community_key"): row for row in rows}
    total = {
        name: _combined(agg, [row[name] for row in per.values()])
        for name, agg in aggregates.items()
    }
    return Tally(total, per)


@dataclass(frozen=True)
class Alert:
    """Something to act on: what (`text`, with its count), and where it is put right (`url`)."""

    key: str
    text: str
    count: int
    url: str = ""
    danger: bool = False
    # A few of the places concerned, (name, url), named in the alert; `key` is its DOM id.
    items: tuple[tuple[str, str], ...] = ()

    @property
    def named(self) -> list[dict[str, str]]:
        """`items` as {name, url} (the API's)."""
        return [{"name": name, "url": url} for name, url in self.items]


@dataclass(frozen=True)
class Chart:
    """A picture where one reads faster than a table; the same numbers are shown as a table.
    `series` is [(name, values)], one value per label."""

    key: str
    title: str
    labels: list[str]
    series: list[tuple[str, list[Number]]]
    kind: str = "line"  # line | bar
    stacked: bool = False
    unit: str = ""
    order: int = 100


@dataclass
class Contribution:
    figures: list[Figure] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)

    def add(self, other: "Contribution") -> None:
        self.figures += other.figures
        self.alerts += other.alerts
        self.charts += other.charts


FigureProvider = Callable[[Places], Contribution]
_providers: list[FigureProvider] = []


def register_figures(provider: FigureProvider) -> None:
    """`provider(places)` returns its figures, alerts and charts for those places."""
    if provider not in _providers:
        _providers.append(provider)


def figure_providers() -> list[FigureProvider]:
    return list(_providers)


def collect(places: Places) -> Contribution:
    """Every provider's contribution: figures in their order, alerts that count something
    (dangerous ones first), charts in their order."""
    found = Contribution()
    for provider in _providers:
        found.add(provider(places))
    found.figures.sort(key=lambda f: f.order)
    found.alerts = sorted((a for a in found.alerts if a.count), key=lambda a: not a.danger)
    found.charts.sort(key=lambda c: c.order)
    return found


def last_days(day: datetime.date, n: int) -> list[datetime.date]:
    """The n days up to and including `day`, oldest first (a chart's axis)."""
    return [day - datetime.timedelta(days=n - 1 - i) for i in range(n)]


# Set by refreshing(): the counts below are made again now, whatever the cache holds.
_refreshing: ContextVar[bool] = ContextVar("figures_refreshing", default=False)


@contextmanager
def refreshing() -> Iterator[None]:
    """Within: every count kept for 15 minutes that the providers read is made again and cached
    anew (the periodic refresh_figures, so that no page pays for making them)."""
    token = _refreshing.set(True)
    try:
        yield
    finally:
        _refreshing.reset(token)


def cached_per_compound(
    key: str, day: datetime.date, compute: Callable[[], dict[int, Any]], *, ttl: int = 900
) -> dict[int, Any]:
    """`compute()` (a value per compound id for the whole city), made at most once every `ttl`
    seconds and shared by every page and node (the cache)."""
    from django.core.cache import cache

    name = f"figures:{key}:{day.isoformat()}"
    counts = None if _refreshing.get() else cache.get(name)
    if counts is None:
        counts = compute()
        cache.set(name, counts, ttl)
    return counts


def per_compound(
    key: str, places: Places, compute: Callable[[], dict[int, int]], *, ttl: int = 900
) -> tuple[int, "Split | None"]:
    """The sum over `places` of a count kept per compound for the whole city, for the figures
    no index makes fast at a city's scale (residents with a tag among a million): `compute()`
    counts every compound in one grouped query, at most once every `ttl` seconds (cached,
    shared by every page and node); each page then reads the compounds' ids and sums. With
    `places.by_community`, also the sum for each community (else None)."""
    counts = cached_per_compound(key, places.day, compute, ttl=ttl)
    rows = places.compounds.order_by().values_list("pk", "community_id")
    per: Split = Split()
    for pk, community_id in rows:
        per[community_id] = per[community_id] + counts.get(pk, 0)
    return sum(per.values()), (per if places.by_community else None)
