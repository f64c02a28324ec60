"""Reads of the medical app: escort lists, the emergency board, coverage of controlled
compounds, the statistics. Each in a constant number of queries."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from compounds.models import Compound, ControlStatus

from .models import (
    OPEN_STATUSES,
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    MedicalStaff,
)

# Escorts that got the patient to hospital.
REACHED = (EscortStatus.AT_HOSPITAL, EscortStatus.RETURNED, EscortStatus.ADMITTED)
# Escorts on the road or at hospital: a crew's job until closed, whatever day it began.
UNDER_WAY = (EscortStatus.DISPATCHED, EscortStatus.AT_HOSPITAL)
COVERED_STATUSES = (ControlStatus.CONTROLLED, ControlStatus.SEALED)
MIN_AMBULANCES = 2
BOARD_LIMIT = 500
PLACE_LEVELS = ("district", "subdistrict", "community")


def _day_bounds(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    lo = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    hi = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return lo, hi


def escorts(
    *,
    user: Any,
    start: datetime.date,
    end: datetime.date,
    status: str = "",
    kind: str = "",
    compound_id: int | None = None,
) -> QuerySet[Escort]:
    lo, hi = _day_bounds(start, end)
    rows = Escort.objects.visible_to(user).filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if compound_id:
        rows = rows.filter(compound_id=compound_id)
    return rows.select_related("resident", "compound", "hospital", "ambulance", "staff").order_by(
        "scheduled_at", "id"
    )


# How far ahead an escort with no ambulance is flagged (a 07:30 dialysis pickup booked by the
# weekly job with none: someone must assign one the day before).
UNASSIGNED_AHEAD = datetime.timedelta(hours=48)


def without_ambulance(
    *, user: Any, compound_id: int | None = None, now: datetime.datetime | None = None
) -> QuerySet[Escort]:
    """Booked escorts (one-off or from a recurring schedule) whose pickup comes within
    UNASSIGNED_AHEAD and that still have no ambulance: what the compound page and the lists
    flag."""
    now = now or timezone.now()
    rows = Escort.objects.visible_to(user).filter(
        status=EscortStatus.REQUESTED,
        ambulance__isnull=True,
        scheduled_at__gte=now - datetime.timedelta(hours=1),
        scheduled_at__lt=now + UNASSIGNED_AHEAD,
    )
    if compound_id is not None:
        rows = rows.filter(compound_id=compound_id)
    return rows.exclude(kind=EscortKind.EMERGENCY).order_by("scheduled_at", "id")


def open_emergencies(*, user: Any) -> list[Escort]:
    """The live board: open emergencies of the user's area, oldest first. One query."""
    return list(
        Escort.objects.visible_to(user)
        .filter(kind=EscortKind.EMERGENCY, status__in=OPEN_STATUSES)
        .select_related("resident", "compound", "hospital", "ambulance")
        .order_by("scheduled_at", "id")[:BOARD_LIMIT]
    )


@dataclass
class Coverage:
    compound: Compound
    medics: int
    ambulances: int

    @property
    def lacks_medic(self) -> bool:
        return self.medics < 1

    @property
    def lacks_ambulances(self) -> bool:
        return self.ambulances < MIN_AMBULANCES

    @property
    def flagged(self) -> bool:
        return self.lacks_medic or self.lacks_ambulances


def coverage(
    *, user: Any, flagged_only: bool = False, level: str | None = None, place_id: int | None = None
) -> list[Coverage]:
    """Controlled and sealed compounds of the user's area (under one district, sub-district or
    community when `level` and `place_id` say so) with their active medical workers and
    serviceable ambulances (home compound); flagged first. One query."""
    medics = (
        MedicalStaff.objects.filter(compound=OuterRef("pk"), active=True)
        .order_by()
        .values("compound")
        .annotate(n=Count("pk"))
        .values("n")
    )
    cars = (
        Ambulance.objects.filter(compound=OuterRef("pk"))
        .exclude(status=AmbulanceStatus.OUT_OF_SERVICE)
        .order_by()
        .values("compound")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Compound.objects.visible_to(user)
        .filter(status__in=COVERED_STATUSES)
        .filter(**({f"{level}_id": place_id} if level in PLACE_LEVELS and place_id else {}))
        .select_related("community")
        .annotate(
            medics=Coalesce(Subquery(medics, output_field=IntegerField()), Value(0)),
            ambulances=Coalesce(Subquery(cars, output_field=IntegerField()), Value(0)),
        )
        .order_by("community__name", "name")
    )
    found = [Coverage(c, c.medics, c.ambulances) for c in rows]
    if flagged_only:
        found = [c for c in found if c.flagged]
    return sorted(found, key=lambda c: not c.flagged)


@dataclass
class Statistics:
    start: datetime.date
    end: datetime.date
    kinds: list[tuple[str, Any]] = field(default_factory=list)
    # kind -> (escorts, reached hospital)
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    # compound -> {kind: escorts}
    by_compound: list[tuple[Compound, dict[str, int], int]] = field(default_factory=list)
    # day -> emergencies (reported), emergencies that reached hospital
    emergencies_per_day: list[tuple[datetime.date, int, int]] = field(default_factory=list)
    total: int = 0
    reached: int = 0


def statistics(
    *,
    user: Any,
    start: datetime.date,
    end: datetime.date,
    compound_status: str = "",
) -> Statistics:
    """Escorts by kind and compound between two days (inclusive, Shanghai days), cancelled ones
    left out, and emergencies per day: how many were reported and how many reached hospital.
    `compound_status`: only compounds now in that control status (sealed…). Three queries."""
    lo, hi = _day_bounds(start, end)
    rows = (
        Escort.objects.visible_to(user)
        .filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
        .exclude(status=EscortStatus.CANCELLED)
    )
    if compound_status:
        rows = rows.filter(compound__status=compound_status)
    stats = Statistics(start=start, end=end, kinds=list(EscortKind.choices))
    reached = Count("pk", filter=Q(status__in=REACHED))
    for kind, n, r in (
        rows.order_by()
        .values("kind")
        .annotate(n=Count("pk"), r=reached)
        .values_list("kind", "n", "r")
    ):
        stats.by_kind[kind] = [n, r]
        stats.total += n
        stats.reached += r
    per_compound: dict[int, dict[str, int]] = defaultdict(dict)
    for compound_id, kind, n in (
        rows.order_by()
        .values("compound_id", "kind")
        .annotate(n=Count("pk"))
        .values_list("compound_id", "kind", "n")
    ):
        per_compound[compound_id][kind] = n
    compounds = Compound.objects.in_bulk(list(per_compound))
    stats.by_compound = sorted(
        ((compounds[c], counts, sum(counts.values())) for c, counts in per_compound.items()),
        key=lambda row: (-row[2], row[0].name),
    )
    # Emergencies per local day: the times are read and bucketed here (a day has a few
    # hundred at most in a district), the same on every database.
    days: dict[datetime.date, list[int]] = {}
    day = start
    while day <= end:
        days[day] = [0, 0]
        day += datetime.timedelta(days=1)
    for at, status in rows.filter(kind=EscortKind.EMERGENCY).values_list("scheduled_at", "status"):
        bucket = days.get(timezone.localtime(at).date())
        if bucket is not None:
            bucket[0] += 1
            bucket[1] += status in REACHED
    stats.emergencies_per_day = [(d, n, r) for d, (n, r) in days.items()]
    return stats


def my_escorts(*, user: Any, day: datetime.date) -> list[Escort]:
    """The crew's and the escort's jobs of the day (今日任务), and those begun before the day
    that are still under way (out at 23:30, at hospital after midnight). At most two queries.

    Most of those who open 今日任务 are on no crew and no medical staff: the user's ambulances
    and staff records are asked first, in one narrow query, and the escorts only when there
    are some, by those ids (no join through the crew, which could repeat an escort and need a
    DISTINCT that cost PostgreSQL 3 ms to plan; no subqueries, which cost Django more to build
    and compile than the rest of the provider)."""
    crews = (
        Ambulance.crew.through.objects.filter(user_id=user.pk)
        .annotate(kind=Value(0, output_field=IntegerField()))
        # The stubs do not see an annotation on an auto-created through model.
        .values_list("kind", "ambulance_id")  # type: ignore[misc]
    )
    staff = (
        MedicalStaff.objects.filter(user_id=user.pk)
        .annotate(kind=Value(1, output_field=IntegerField()))
        .values_list("kind", "pk")
    )
    mine = list(crews.union(staff, all=True))
    if not mine:
        return []
    lo, hi = _day_bounds(day, day)
    return list(
        Escort.objects.filter(
            Q(scheduled_at__gte=lo, scheduled_at__lt=hi)
            | Q(scheduled_at__lt=lo, status__in=UNDER_WAY)
        )
        .filter(
            Q(ambulance_id__in=[pk for kind, pk in mine if kind == 0])
            | Q(staff_id__in=[pk for kind, pk in mine if kind == 1])
        )
        .exclude(status__in=(EscortStatus.CANCELLED, EscortStatus.REQUESTED))
        .select_related("resident", "compound", "hospital", "ambulance")
        .order_by("scheduled_at", "id")
    )


def my_escorts_between(*, user: Any, start: datetime.date, end: datetime.date) -> list[Escort]:
    """The jobs a crew member or escort is on between two days (their own list). One query."""
    lo, hi = _day_bounds(start, end)
    return list(
        Escort.objects.filter(scheduled_at__gte=lo, scheduled_at__lt=hi)
        .filter(Q(ambulance__crew=user) | Q(staff__user=user))
        .select_related("resident", "compound", "hospital", "ambulance")
        .distinct()
        .order_by("scheduled_at", "id")
    )
