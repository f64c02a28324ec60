"""Reads for the roster pages and the district's completion table: one GROUP BY each, through
visible_to, whatever the number of compounds."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from compounds.models import Community, Compound
from wuyi.lib import localday
from wuyi.lib.iters import natural_key

from .models import Area, AreaKind, Round, WasteRecord


@dataclass
class Progress:
    """A compound's or a community's rounds of a day."""

    total: int = 0
    done: int = 0
    late: int = 0
    overdue: int = 0  # open and past their window
    started: int = 0  # due by now: what a compound can have done so far
    place: Any = None
    compounds: int = 0

    @property
    def rate(self) -> float:
        """The completion rate: rounds done of those that have started (at 10:00 a compound is
        not behind for its 16:00 rounds; for a past day, of all of them). Nothing started yet
        counts as nothing missed."""
        return min(1.0, self.done / self.started) if self.started else 1.0

    @property
    def percent(self) -> int:
        return int(self.rate * 100)

    def add(self, other: "Progress") -> None:
        self.total += other.total
        self.done += other.done
        self.late += other.late
        self.overdue += other.overdue
        self.started += other.started
        self.compounds += 1


def _conditions(now: datetime.datetime) -> dict[str, Q]:
    return {
        "total": Q(),
        "done": Q(done_at__isnull=False),
        "late": Q(timing="late"),
        "overdue": Q(done_at__isnull=True, window_ends_at__lte=now),
        "started": Q(due_at__lte=now),
    }


FIGURES = ("total", "done", "late", "overdue", "started")


def _counts(qs, now: datetime.datetime):
    return qs.annotate(
        **{name: Count("id", filter=condition) for name, condition in _conditions(now).items()}
    )


def compound_progress(*, user: Any, day: datetime.date, now=None) -> list[Progress]:
    """Each visible compound with rounds that day, worst first (lowest share done, then most
    overdue). Two queries."""
    now = now or timezone.now()
    rows = _counts(
        Round.objects.visible_to(user).filter(date=day).values("compound_id").order_by(),
        now,
    )
    progress = {r["compound_id"]: Progress(**{name: r[name] for name in FIGURES}) for r in rows}
    for compound in Compound.objects.filter(pk__in=list(progress)).select_related("community"):
        progress[compound.pk].place = compound
    return sorted(
        progress.values(), key=lambda p: (p.rate, -p.overdue, p.place.name if p.place else "")
    )


def community_progress(compounds: list[Progress]) -> list[Progress]:
    """The compounds' figures added up per community, worst first."""
    per: dict[int, Progress] = {}
    for p in compounds:
        community: Community = p.place.community
        row = per.setdefault(community.pk, Progress(place=community))
        row.add(p)
    return sorted(per.values(), key=lambda p: (p.rate, -p.overdue, p.place.name))


@dataclass
class WeekRow:
    compound: Any
    days: list[Progress | None] = field(default_factory=list)
    week: Progress = field(default_factory=Progress)


def week_rates(*, user: Any, last: datetime.date, now=None) -> tuple[list[datetime.date], list]:
    """Completion per visible compound for the seven days ending `last`, worst week first."""
    now = now or timezone.now()
    days = [last - datetime.timedelta(days=n) for n in range(6, -1, -1)]
    rows = _counts(
        Round.objects.visible_to(user)
        .filter(date__range=(days[0], last))
        .values("compound_id", "date")
        .order_by(),
        now,
    )
    table: dict[int, WeekRow] = {}
    for r in rows:
        row = table.setdefault(r["compound_id"], WeekRow(compound=None, days=[None] * 7))
        p = Progress(**{name: r[name] for name in FIGURES})
        row.days[(r["date"] - days[0]).days] = p
        row.week.add(p)
    for compound in Compound.objects.filter(pk__in=list(table)):
        table[compound.pk].compound = compound
    return days, sorted(table.values(), key=lambda w: (w.week.rate, w.compound.name))


def day_totals(*, compound: Compound, day: datetime.date, now=None) -> Progress:
    """One compound's figures of the day (one query)."""
    row = Round.objects.filter(compound=compound, date=day).aggregate(
        **{
            name: Count("id", filter=condition)
            for name, condition in _conditions(now or timezone.now()).items()
        }
    )
    return Progress(**row)


def compound_day(*, compound: Compound, day: datetime.date) -> list[Round]:
    """A compound's rounds of the day with their area and cleaner (one query), lifts first,
    then stairwells…, 2号楼 before 10号楼."""
    rounds = Round.objects.filter(compound=compound, date=day).select_related(
        "area", "assignee", "done_by"
    )
    return sorted(rounds, key=lambda r: (*area_order(r.area), r.due_at))


KIND_ORDER = {kind: n for n, kind in enumerate(AreaKind.values)}


def area_order(area: Area) -> tuple:
    return (KIND_ORDER.get(area.kind, 99), natural_key(area.name))


def waste_bins(*, user: Any, day: datetime.date, compound: Compound | None = None):
    """Every visible medical-waste bin, annotated `cleared_today`; bins not cleared first.
    A queryset: the page takes a page of it, then waste_records() for those bins."""
    cleared = WasteRecord.objects.filter(area=OuterRef("pk"), date=day, cleared=True)
    bins = Area.objects.visible_to(user).filter(kind=AreaKind.MEDICAL_WASTE, active=True)
    if compound is not None:
        bins = bins.filter(compound=compound)
    return (
        bins.annotate(cleared_today=Exists(cleared))
        .select_related("compound")
        .order_by("cleared_today", "compound__name", "name", "pk")
    )


def waste_records(bins: list[Area], day: datetime.date) -> dict[int, WasteRecord]:
    return {
        r.area_id: r
        for r in WasteRecord.objects.filter(area__in=bins, date=day).select_related("collected_by")
    }


def on_day(day: datetime.date) -> Q:
    """Rounds whose window takes up part of `day` in Asia/Shanghai: the day's own, and those of
    the day before still open after midnight (23:30 with an hour's window runs to 00:30). A
    window lasts at most rules.MAX_WINDOW minutes, so no older round reaches the day."""
    return Q(date=day) | Q(date=day - localday.ONE_DAY, window_ends_at__gt=localday.start_of(day))


def area_rounds(area: Area, day: datetime.date):
    """An area's rounds that take up part of `day`, in time order (the scan page's list)."""
    return Round.objects.filter(on_day(day), area=area).order_by("due_at")


def my_rounds(*, user: Any, day: datetime.date) -> list[Any]:
    """The rounds a cleaner has that day, the one begun before midnight included (one
    query), as what 今日任务 shows of each: rows of pk, due_at, window_ends_at, done_at,
    area__name and compound__name, by due time.

    Plain rows, ordered here: a phone's 26 rounds as model instances with their area and
    compound, and Django's compiling of the ORDER BY, were most of the provider's time."""
    rows = (
        Round.objects.filter(on_day(day), assignee__user=user)
        .order_by()
        .values_list(
            "pk", "due_at", "window_ends_at", "done_at", "area__name", "compound__name", named=True
        )
    )
    return sorted(rows, key=lambda r: (r.due_at, r.pk))
