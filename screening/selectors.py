"""Reads in screening: coverage per compound and per door, the door-to-door list, the cases and
the overdue list. Each runs a fixed number of queries whatever the number of compounds."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from compounds.models import Compound, unit_label
from residents.models import Category, Resident, VulnerableTag
from wuyi.lib.iters import natural_key

from . import rules
from .models import (
    Exemption,
    ExemptReason,
    HealthReport,
    PersonKind,
    Quarantine,
    Retest,
    RetestStatus,
    Sample,
    SamplingSlot,
    TemporaryControl,
    TestingRound,
)

# Who cannot come down to the sampling point: sampled at the door.
DOOR_CATEGORIES = (Category.BEDRIDDEN, Category.CHRONIC, Category.DISABLED)


@dataclass
class Coverage:
    """应检 / 已检 / 免检 / 未检 for one place."""

    name: str = ""
    pk: int = 0
    expected: int = 0
    sampled: int = 0
    exempt: int = 0

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.sampled - self.exempt)

    @property
    def percent(self) -> int:
        due = self.expected - self.exempt
        return 100 if due <= 0 else round(100 * min(self.sampled, due) / due)

    def add(self, other: "Coverage") -> None:
        self.expected += other.expected
        self.sampled += other.sampled
        self.exempt += other.exempt


def derived_exempt(testing_round: TestingRound) -> Q:
    """Exempt by what the data already says, beside the manual exemptions: an infant (born,
    by the birth date the ID number gives, less than rules.INFANT_YEARS before the round
    starts) or someone already a case (an open case record). A filter on Resident."""
    cases = Quarantine.objects.filter(kind=PersonKind.CASE, released_at__isnull=True)
    return Q(birth_date__gt=rules.infant_cutoff(testing_round.starts_on)) | Q(
        pk__in=cases.values("resident_id")
    )


def round_compounds_for(user: Any, testing_round: TestingRound):
    compounds = Compound.objects.visible_to(user).filter(district_id=testing_round.district_id)
    chosen = [s.pk for s in testing_round.subdistricts.all()]
    if chosen:
        compounds = compounds.filter(subdistrict_id__in=chosen)
    return compounds


def round_coverage(*, user: Any, testing_round: TestingRound) -> tuple[Coverage, list[Coverage]]:
    """Coverage per compound of the round the user sees, worst first, and the total. Five
    queries: compounds, residents per compound, samples per compound, exemptions of people not
    sampled per compound, people exempt by the data (derived_exempt) neither sampled nor
    exempted by hand per compound."""
    compounds = round_compounds_for(user, testing_round)
    rows = {pk: Coverage(name=name, pk=pk) for pk, name in compounds.values_list("pk", "name")}
    ids = compounds.values("pk")
    for cid, n in (
        Resident.objects.current()
        .filter(compound_id__in=ids)
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        rows[cid].expected = n
    for cid, n in (
        Sample.objects.filter(round=testing_round, retest=False, compound_id__in=ids)
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if cid in rows:
            rows[cid].sampled = n
    sampled = Sample.objects.filter(
        round=testing_round, retest=False, resident_id=OuterRef("resident_id")
    )
    for cid, n in (
        Exemption.objects.filter(round=testing_round, compound_id__in=ids)
        .exclude(Exists(sampled))
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if cid in rows:
            rows[cid].exempt = n
    # Exempt by the data (infants, cases), neither sampled nor exempted by hand.
    manual = Exemption.objects.filter(round=testing_round, resident_id=OuterRef("pk"))
    sampled_one = Sample.objects.filter(
        round=testing_round, retest=False, resident_id=OuterRef("pk")
    )
    for cid, n in (
        Resident.objects.current()
        .filter(compound_id__in=ids)
        .filter(derived_exempt(testing_round))
        .exclude(Exists(sampled_one))
        .exclude(Exists(manual))
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if cid in rows:
            rows[cid].exempt += n
    total = Coverage(name="")
    for row in rows.values():
        total.add(row)
    ordered = sorted(rows.values(), key=lambda r: (r.percent, -r.missing, natural_key(r.name)))
    return total, ordered


@dataclass
class Door:
    household_id: int
    address: str
    people: list[dict] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(1 for p in self.people if p["state"] == "missing")


def compound_coverage(
    *, testing_round: TestingRound, compound: Compound
) -> tuple[Coverage, dict[str, Coverage], list[Door]]:
    """One compound: the total, per building and unit, and each door with its people (sampled,
    exempt with reason, missing). One query for the people, whatever their number."""
    sample = Sample.objects.filter(round=testing_round, retest=False, resident_id=OuterRef("pk"))
    exemptions = dict(
        Exemption.objects.filter(round=testing_round, compound=compound).values_list(
            "resident_id", "reason"
        )
    )
    cutoff = rules.infant_cutoff(testing_round.starts_on)
    cases = set(
        Quarantine.objects.filter(
            compound=compound, kind=PersonKind.CASE, released_at__isnull=True
        ).values_list("resident_id", flat=True)
    )
    people = (
        Resident.objects.current()
        .filter(compound=compound)
        .annotate(sampled=Exists(sample))
        .select_related("household__building")
        .only(
            "pk",
            "name",
            "birth_date",
            "household__unit",
            "household__room",
            "household__building__number",
        )
    )
    total = Coverage(name=compound.name, pk=compound.pk)
    units: dict[str, Coverage] = {}
    doors: dict[int, Door] = {}
    for p in people:
        h = p.household
        unit = unit_label(h.building.number, h.unit)
        if p.pk not in exemptions and not p.sampled:
            # Exempt by the data: a case, an infant (derived_exempt, for one person).
            if p.pk in cases:
                exemptions[p.pk] = ExemptReason.CASE
            elif p.birth_date is not None and p.birth_date > cutoff:
                exemptions[p.pk] = ExemptReason.INFANT
        if p.sampled:
            state = "sampled"
        elif p.pk in exemptions:
            state = "exempt"
        else:
            state = "missing"
        row = units.setdefault(unit, Coverage(name=unit))
        for c in (row, total):
            c.expected += 1
            c.sampled += state == "sampled"
            c.exempt += state == "exempt"
        door = doors.get(h.pk)
        if door is None:
            door = doors[h.pk] = Door(household_id=h.pk, address=h.address)
        door.people.append(
            {"id": p.pk, "name": p.name, "state": state, "reason": exemptions.get(p.pk, "")}
        )
    ordered_units = dict(sorted(units.items(), key=lambda kv: natural_key(kv[0])))
    ordered_doors = sorted(doors.values(), key=lambda d: natural_key(d.address))
    return total, ordered_units, ordered_doors


def missing_residents(*, testing_round: TestingRound, compound_ids: Any):
    """Current residents of these compounds not sampled and not exempt in the round (by hand
    or by the data)."""
    sample = Sample.objects.filter(round=testing_round, retest=False, resident_id=OuterRef("pk"))
    exempt = Exemption.objects.filter(round=testing_round, resident_id=OuterRef("pk"))
    return (
        Resident.objects.current()
        .filter(compound_id__in=compound_ids)
        .exclude(Exists(sample))
        .exclude(Exists(exempt))
        .exclude(derived_exempt(testing_round))
    )


def door_list(*, testing_round: TestingRound, compound: Compound) -> list[dict]:
    """Who is sampled at the door: the vulnerable who cannot come down, not yet sampled, and
    everyone owing a single-tube retest. Two queries."""
    sample = Sample.objects.filter(round=testing_round, retest=False, resident_id=OuterRef("pk"))
    tagged = VulnerableTag.objects.filter(resident_id=OuterRef("pk"), category__in=DOOR_CATEGORIES)
    rows = [
        {"id": r.pk, "name": r.name, "address": r.household.address, "why": "vulnerable"}
        for r in Resident.objects.current()
        .filter(compound=compound)
        .filter(Exists(tagged))
        .exclude(Exists(sample))
        .select_related("household__building")
    ]
    rows += [
        {
            "id": r.resident_id,
            "name": r.resident.name,
            "address": r.household.address,
            "why": "retest",
        }
        for r in Retest.objects.filter(
            round=testing_round, compound=compound, status=RetestStatus.PENDING
        ).select_related("resident", "household__building")
    ]
    return sorted(rows, key=lambda r: natural_key(r["address"]))


def controlled_households(user: Any) -> list[TemporaryControl]:
    return list(
        TemporaryControl.objects.visible_to(user)
        .filter(lifted_at__isnull=True)
        .select_related("household__building", "compound", "pool")
    )


def quarantines(user: Any, *, day: datetime.date | None = None):
    return (
        Quarantine.objects.visible_to(user)
        .active(day)
        .select_related("resident", "compound", "source__resident")
        .order_by("kind", "starts_on", "pk")
    )


def overdue(user: Any, *, day: datetime.date | None = None) -> list[Quarantine]:
    """People in quarantine whose health report for the day before is missing (a person who
    started today owes none yet). Released people are never on it."""
    day = day or timezone.localdate()
    yesterday = day - datetime.timedelta(days=1)
    reported = HealthReport.objects.filter(quarantine_id=OuterRef("pk"), day=yesterday)
    return list(
        Quarantine.objects.visible_to(user)
        .active(day)
        .filter(starts_on__lte=yesterday)
        .exclude(Exists(reported))
        .select_related("resident__household__building", "compound")
        .order_by("compound__name", "pk")
    )


def retests_pending(user: Any) -> dict[int, int]:
    """Pending retests per compound the user sees."""
    counts: dict[int, int] = defaultdict(int)
    for cid, n in (
        Retest.objects.visible_to(user)
        .filter(status=RetestStatus.PENDING)
        .values_list("compound_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[cid] = n
    return counts


def slots(*, testing_round: TestingRound, compound: Compound) -> list[SamplingSlot]:
    """The compound's sampling points and time slots in the round, earliest first."""
    return list(
        SamplingSlot.objects.filter(round=testing_round, compound=compound)
        .prefetch_related("buildings")
        .order_by("starts_at", "pk")
    )


def slots_by_building(compound: Compound | int) -> dict[int | None, list[SamplingSlot]]:
    """The slots of the rounds in progress in a compound, per building id (None: a slot for
    every building), for the door cards. Two queries."""
    found: dict[int | None, list[SamplingSlot]] = defaultdict(list)
    rows = (
        SamplingSlot.objects.filter(compound=compound, round__status="open")
        .prefetch_related("buildings")
        .order_by("starts_at", "pk")
    )
    for slot in rows:
        ids: list[int | None] = [b.pk for b in slot.buildings.all()]
        for building_id in ids or [None]:
            found[building_id].append(slot)
    return found


def next_round_number(district: Any) -> int:
    """The number the district's next testing round takes: one after its last (1 for the
    first), which the open-a-round form offers."""
    last = TestingRound.objects.filter(district=district).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1
