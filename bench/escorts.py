"""Recurring escorts booked a week ahead at city scale, and the emergency board's queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench_med .venv/bin/python bench/escorts.py

1. Sets up 2,000 sealed compounds (codes BENCHE-*) with 10 residents each and 20,000 active
   recurring schedules (Mon/Wed/Fri, Tue/Thu/Sat or every day, times spread over the day) to
   one hospital: by bulk_create, once.
2. Ours: medical.services.escorts_book(days=7) from 00:00 today (every pickup of the week
   ahead is due), then a second run, which must create none.
3. Baseline in the same run: one Escort.objects.create() per escort for a slice of the
   schedules (the week after, so that nothing clashes), as a loop over the schedules would.
4. The emergency board (selectors.open_emergencies + its rows template): queries counted with
   10 and with 1,000 open emergencies; the count must not grow.

Targets: under 10 s, at least 10x the baseline's rate, a second run creating none, the board's
query count equal. The last line sums it up; exit 1 when a target is missed.

--smoke: 40 compounds (400 schedules), a baseline of 40 schedules, the board with 10 and 100
open emergencies, in the smoke database; the speed targets are not judged.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

COMPOUNDS = 2_000
PER_COMPOUND = 10
SCHEDULES = COMPOUNDS * PER_COMPOUND
BASELINE_SCHEDULES = 600
TARGET_SECONDS = 10.0
TARGET_RATIO = 10.0
PATTERNS = [[0, 2, 4], [1, 3, 5], [0, 1, 2, 3, 4, 5, 6]]


def ensure_schedules(compounds_wanted: int = COMPOUNDS):
    """The bench's compounds, residents and schedules (created once; the escorts are not),
    the tables analysed before COMMIT: on a database where another bench emptied
    residents_resident, statistics that say "0 rows" over its dead pages made the COMMIT's
    foreign-key checks (and later the booking's) scan it, 40 minutes and more."""
    from django.db import transaction
    from django.utils import timezone

    from compounds.models import Building, Community, Compound, ControlStatus, District, Subdistrict
    from medical.models import Hospital, Schedule
    from residents.models import Household, Resident

    district, _ = District.objects.get_or_create(code="BENCHE-D", defaults={"name": "转运基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCHE-S", defaults={"name": "转运基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code="BENCHE-C", defaults={"name": "转运基准社区", "subdistrict": sub}
    )
    hospital, _ = Hospital.objects.get_or_create(
        name="转运基准医院", defaults={"services": ["dialysis", "emergency", "general"]}
    )
    hospital.districts.add(district)
    schedules = compounds_wanted * PER_COMPOUND
    if (
        Schedule.objects.filter(compound__community=community).count() == schedules
        and Compound.objects.filter(community=community).count() == compounds_wanted
    ):
        return community, hospital
    print(
        f"setting up {compounds_wanted:,} compounds, {schedules:,} schedules (once)...",
        flush=True,
    )
    with transaction.atomic():
        Schedule.objects.filter(compound__community=community).delete()
        Compound.objects.filter(
            community=community, code__gte=f"BENCHE-K{compounds_wanted:05d}"
        ).delete()
        have = Compound.objects.filter(community=community).count()
        Compound.objects.bulk_create(
            [
                Compound(
                    community=community,
                    subdistrict=sub,
                    district=district,
                    code=f"BENCHE-K{n:05d}",
                    name=f"转运小区{n}",
                    status=ControlStatus.SEALED,
                )
                for n in range(have, compounds_wanted)
            ],
            batch_size=5000,
        )
        compounds = list(Compound.objects.filter(community=community).order_by("pk"))
        with_building = set(
            Building.objects.filter(compound__community=community).values_list(
                "compound_id", flat=True
            )
        )
        Building.objects.bulk_create(
            [
                Building(compound=c, number="1", name="1号楼")
                for c in compounds
                if c.pk not in with_building
            ],
            batch_size=5000,
        )
        buildings = {
            b.compound_id: b for b in Building.objects.filter(compound__community=community)
        }
        if (
            Household.objects.filter(compound__community=community).count()
            != len(compounds) * PER_COMPOUND
        ):
            Household.objects.filter(compound__community=community).delete()
            Household.objects.bulk_create(
                [
                    Household(compound=c, building=buildings[c.pk], unit="1", room=f"{r + 101}")
                    for c in compounds
                    for r in range(PER_COMPOUND)
                ],
                batch_size=10_000,
            )
            Resident.objects.bulk_create(
                [
                    Resident(
                        household=h,
                        compound_id=h.compound_id,
                        community=community,
                        name=f"透析居民{h.pk}",
                    )
                    for h in Household.objects.filter(compound__community=community)
                ],
                batch_size=10_000,
            )
        residents = list(
            Resident.objects.filter(community=community)
            .order_by("pk")
            .values_list("pk", "compound_id")
        )
        start = timezone.localdate() - datetime.timedelta(days=30)
        Schedule.objects.bulk_create(
            [
                Schedule(
                    compound_id=compound_id,
                    resident_id=pk,
                    kind="dialysis",
                    weekdays=PATTERNS[n % len(PATTERNS)],
                    time=datetime.time(6 + n % 14, (n * 7) % 60),
                    duration_minutes=240,
                    hospital=hospital,
                    pickup="1号楼1单元",
                    start_date=start,
                )
                for n, (pk, compound_id) in enumerate(residents)
            ],
            batch_size=10_000,
        )
        benchdb.analyze(Compound, Building, Household, Resident, Schedule)
    return community, hospital


def clear(community) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM medical_escort e USING compounds_compound c "
            "WHERE e.compound_id = c.id AND c.community_id = %s",
            [community.pk],
        )
        cur.execute("ANALYZE medical_escort")
        cur.execute("ANALYZE medical_schedule")


def baseline(
    community, start: datetime.datetime, slice_: int = BASELINE_SCHEDULES
) -> tuple[int, float]:
    """One save per escort for a slice of the schedules, the week after ours."""
    from django.utils import timezone

    from medical.models import Escort, EscortStatus, Schedule
    from wuyi.lib.localday import aware

    schedules = list(Schedule.objects.filter(compound__community=community).order_by("pk")[:slice_])
    first = timezone.localdate(start) + datetime.timedelta(days=7)
    days = [first + datetime.timedelta(days=n) for n in range(7)]
    made = 0
    started = time.perf_counter()
    for schedule in schedules:
        for day in days:
            if not schedule.runs_on(day):
                continue
            at = aware(day, schedule.time)
            Escort.objects.create(
                compound_id=schedule.compound_id,
                resident_id=schedule.resident_id,
                kind=schedule.kind,
                pickup=schedule.pickup,
                hospital_id=schedule.hospital_id,
                scheduled_at=at,
                expected_return_at=at + datetime.timedelta(minutes=schedule.duration_minutes),
                status=EscortStatus.REQUESTED,
                steps=[{"status": "requested", "at": start.isoformat(), "by": None}],
                schedule=schedule,
                schedule_date=day,
            )
            made += 1
    return made, time.perf_counter() - started


def board_queries(community, hospital, total: int) -> int:
    """Open emergencies up to `total`; the queries of the board's read and rows."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from medical import selectors
    from medical.models import Ambulance, Escort
    from residents.models import Resident

    have = Escort.objects.filter(compound__community=community, kind="emergency").count()
    residents = list(Resident.objects.filter(community=community).order_by("pk")[: total - have])
    now = timezone.now()
    cars = {}
    for r in residents:
        if r.compound_id not in cars:
            cars[r.compound_id], _ = Ambulance.objects.get_or_create(
                plate=f"BE{r.compound_id}", defaults={"compound_id": r.compound_id}
            )
    Escort.objects.bulk_create(
        [
            Escort(
                compound_id=r.compound_id,
                resident=r,
                kind="emergency",
                pickup="1号楼1单元",
                hospital=hospital,
                scheduled_at=now,
                expected_return_at=now + datetime.timedelta(hours=2),
                ambulance=cars[r.compound_id] if n % 2 else None,
                status="dispatched" if n % 2 else "requested",
                symptom="胸痛",
            )
            for n, r in enumerate(residents)
        ],
        batch_size=5000,
    )
    staff = User(is_superuser=True, is_active=True)
    with CaptureQueriesContext(connection) as ctx:
        rows = selectors.open_emergencies(user=staff)
        render_to_string("medical/_board_rows.html", {"rows": rows})
    return len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=COMPOUNDS, help="the city's size")
    parser.add_argument("--smoke", action="store_true", help="a small size, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.compounds = 40
    compounds = args.compounds
    slice_ = 40 if args.smoke else BASELINE_SCHEDULES
    board = 100 if args.smoke else 1000
    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)
    from django.utils import timezone

    from medical import services

    community, hospital = ensure_schedules(compounds)
    clear(community)
    # From the first minute of today: every pickup of the coming week is due.
    midnight = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time()))

    started = time.perf_counter()
    first = services.escorts_book(days=7, now=midnight)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    second = services.escorts_book(days=7, now=midnight)
    again = time.perf_counter() - started
    rate = first.created / ours
    print(
        f"ours: {first.created:,} escorts for {first.schedules:,} schedules in {ours:.2f} s "
        f"({rate:,.0f}/s); second run {second.created:,} created, {second.existed:,} already "
        f"booked in {again:.2f} s",
        flush=True,
    )
    made, base = baseline(community, midnight, slice_)
    base_rate = made / base
    ratio = rate / base_rate
    print(f"baseline: {made:,} escorts one save each in {base:.2f} s ({base_rate:,.0f}/s)")
    clear(community)

    small = board_queries(community, hospital, 10)
    large = board_queries(community, hospital, board)
    print(f"board: {small} queries with 10 open emergencies, {large} with {board:,}")
    clear(community)

    ok = {
        "created": first.created > 0 and first.existed == 0,
        "second run": second.created == 0 and second.existed == first.created,
        "time": ours < TARGET_SECONDS,
        "ratio": ratio >= TARGET_RATIO,
        "board": small == large,
    }
    speed = {"time", "ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print()
    print(f"  escorts     {first.created:,} in {ours:.2f} s (target < {TARGET_SECONDS:.0f} s)")
    print(f"  ratio       {ratio:.1f} x one save per escort (target >= {TARGET_RATIO:.0f}x)")
    print(f"  second run  {second.created} created (target 0)")
    print(f"  board       {small} / {large} queries for 10 / {board:,} (target equal)")
    print(
        f"escorts: {first.created:,} escorts for {first.schedules:,} schedules in {ours:.2f} s, "
        f"{ratio:.1f} x one save per escort, second run {second.created} created, "
        f"board {small}/{large} queries: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
