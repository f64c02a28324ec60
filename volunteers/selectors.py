"""Reads on volunteers and shifts: today's work, the week's plan, who is on duty, hours given.
Constant query counts: each function reads a fixed number of tables whatever the rows."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum
from django.db.models import DurationField as DurationOutput

from accounts.models import User
from compounds.models import Compound
from wuyi.lib import localday

from .models import Assignment, Shift, ShiftTemplate, Team, Volunteer


def _on_day(day: datetime.date, prefix: str = "") -> Q:
    """Shifts that take up part of `day` in Asia/Shanghai: from 00:00 to 24:00 local, so a
    night shift 22:00–02:00 counts on both days it touches (and one ending at 00:00 only on
    the first). A shift lasts at most MAX_SHIFT_HOURS (< 24), so it began that day or the
    day before: the date range keeps the (compound, date) index in use."""
    start, end = localday.bounds(day)
    return Q(
        **{
            f"{prefix}date__range": (day - localday.ONE_DAY, day),
            f"{prefix}starts_at__lt": end,
            f"{prefix}ends_at__gt": start,
        }
    )


def my_assignments(*, user: User, day: datetime.date) -> list[Assignment]:
    """The user's shifts that take up part of `day` (Asia/Shanghai; a night shift that began
    the day before is still there after midnight), with their compound. One query."""
    assignments = (
        Assignment.objects.filter(volunteer__user_id=user.pk)
        .filter(_on_day(day, "shift__"))
        .select_related("shift__compound")
        .order_by()
    )
    # Ordered here, not in SQL: a few rows, and the ORDER BY through the join cost Django
    # more to compile than the rows to sort, on every 今日任务.
    return sorted(assignments, key=lambda a: (a.shift.starts_at, a.pk))


@dataclass
class PlanCell:
    shift: Shift | None
    assigned: list[Assignment] = field(default_factory=list)

    @property
    def gap(self) -> int:
        """People still needed (0 when covered, or when there is no shift)."""
        return max(0, self.shift.needed - len(self.assigned)) if self.shift else 0


@dataclass
class PlanRow:
    template: ShiftTemplate
    cells: list[PlanCell]


def week_plan(
    *, user: User, compound_id: int, first: datetime.date, days: int = 7
) -> tuple[Compound, list[datetime.date], list[PlanRow], list[Shift]]:
    """The grid of days × the compound's shift templates, each cell the shift and who works
    it (gaps show); one-off shifts listed apart. Four queries."""
    compound = Compound.objects.visible_to(user).get(pk=compound_id)
    dates = [first + datetime.timedelta(days=n) for n in range(days)]
    templates = list(ShiftTemplate.objects.filter(compound=compound).order_by("starts", "name"))
    shifts = list(
        Shift.objects.filter(compound=compound, date__range=(dates[0], dates[-1]))
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("volunteer").order_by("id"),
            )
        )
        .order_by("starts_at")
    )
    by_key = {(s.template_id, s.date): s for s in shifts if s.template_id}
    rows = []
    for template in templates:
        cells = []
        for day in dates:
            shift = by_key.get((template.pk, day))
            cells.append(PlanCell(shift, list(shift.assignments.all()) if shift else []))
        rows.append(PlanRow(template, cells))
    one_offs = [s for s in shifts if s.template_id is None]
    return compound, dates, rows, one_offs


@dataclass
class DutyRow:
    compound: Compound
    shifts: int
    needed: int
    assigned: int
    checked_in: int


def on_duty(*, user: User, day: datetime.date, compound_id: int | None = None) -> list[DutyRow]:
    """People on duty per compound on `day`, for the compounds the user sees (or one of them):
    shifts, people needed, assigned and checked in. A shift is on duty on every day it takes
    up part of in Asia/Shanghai: the night shift 22:00–02:00 on duty now is there after
    midnight. Three queries."""
    visible = Compound.objects.visible_to(user).order_by("name")
    if compound_id is not None:
        visible = visible.filter(pk=compound_id)
    compounds = {c.pk: c for c in visible}
    shifts = (
        Shift.objects.filter(_on_day(day), compound_id__in=compounds)
        .values("compound_id")
        .annotate(shifts=Count("id", distinct=True), needed=Sum("needed"))
    )
    people = (
        Assignment.objects.filter(_on_day(day, "shift__"), shift__compound_id__in=compounds)
        .values("shift__compound_id")
        .annotate(
            assigned=Count("id"),
            checked_in=Count("id", filter=Q(checked_in_at__isnull=False)),
        )
    )
    figures: dict[int, dict] = defaultdict(dict)
    for row in shifts:
        figures[row["compound_id"]].update(shifts=row["shifts"], needed=row["needed"] or 0)
    for person in people:
        figures[person["shift__compound_id"]].update(
            assigned=person["assigned"], checked_in=person["checked_in"]
        )
    return [
        DutyRow(
            compound=compounds[pk],
            shifts=f.get("shifts", 0),
            needed=f.get("needed", 0),
            assigned=f.get("assigned", 0),
            checked_in=f.get("checked_in", 0),
        )
        for pk, f in figures.items()
    ]


_WORKED = ExpressionWrapper(F("checked_out_at") - F("checked_in_at"), output_field=DurationOutput())


def hours_by_volunteer(
    *, user: User, first: datetime.date, last: datetime.date
) -> QuerySet[Volunteer]:
    """Volunteers the user sees, with the hours they gave on shifts that began between two
    dates (Asia/Shanghai; a night shift counts to the day it began), checked in to checked
    out, and the count of those shifts. One query."""
    done = Q(
        assignments__shift__date__range=(first, last),
        assignments__checked_out_at__isnull=False,
        assignments__checked_in_at__isnull=False,
    )
    return (
        Volunteer.objects.filter(pk__in=Volunteer.objects.visible_to(user).values("pk"))
        .annotate(
            worked=Sum(
                ExpressionWrapper(
                    F("assignments__checked_out_at") - F("assignments__checked_in_at"),
                    output_field=DurationOutput(),
                ),
                filter=done,
            ),
            shifts=Count("assignments", filter=done),
        )
        .order_by("community_id", "name")
    )


def hours_by_team(
    *, user: User, first: datetime.date, last: datetime.date
) -> list[tuple[Team, float, int]]:
    """Teams the user sees with the hours their members gave on shifts that began between two
    dates (as hours_by_volunteer), and how many members worked. Two queries."""
    teams = list(Team.objects.visible_to(user).order_by("community_id", "name"))
    rows = (
        Assignment.objects.filter(
            shift__date__range=(first, last),
            checked_in_at__isnull=False,
            checked_out_at__isnull=False,
            volunteer__memberships__team__in=teams,
        )
        .values("volunteer__memberships__team_id")
        .annotate(worked=Sum(_WORKED), people=Count("volunteer", distinct=True))
    )
    by_team: dict[int, dict[str, Any]] = {
        r["volunteer__memberships__team_id"]: dict(r) for r in rows
    }
    result = []
    for team in teams:
        found: dict[str, Any] = by_team.get(team.pk, {})
        worked = found.get("worked")
        hours = worked.total_seconds() / 3600 if worked else 0.0
        result.append((team, hours, found.get("people", 0)))
    return result
