"""The daily disinfection roster at city scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python bench/rosters.py

1. Sets up 10,000 sealed compounds (codes BENCHR-*), each with 20 areas of one round a day
   (times spread over the day) and a cleaning team of three volunteers serving it: by
   bulk_create, once.
2. Ours: sanitation.services.rosters_generate() for tomorrow, in a fresh subprocess so that
   its peak RSS (VmHWM) is its own: 200,000 rounds, each given a cleaner by rotation. Then
   a second run in the same process, which must create none.
3. Baseline in the same run: one Round.objects.create() per round, with the same cleaner
   rotation read per compound, on a slice (the day after, 2,000 rounds), as a loop over the
   areas saving one round at a time would.

Targets: under 20 s, peak RSS under 300 MB, at least 10x the baseline's rate, a second run
creating none. The last line sums it up; exit 1 when a target is missed.

--smoke: 100 compounds (2,000 rounds), a baseline of 200 rounds, in the smoke database; the
speed targets are not judged (memory is).
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

COMPOUNDS = 10_000
AREAS = 20
CLEANERS = 3
BASELINE_ROUNDS = 2000
TARGET_SECONDS = 20.0
TARGET_RSS_MB = 300
TARGET_RATIO = 10.0
KINDS = ["lift", "stairwell", "lobby", "gate", "garbage", "medical_waste", "toilet", "other"]


def ensure_places(compounds_wanted: int = COMPOUNDS):
    """The bench's compounds, areas and cleaners (created once; the rounds are not), the
    tables analysed before COMMIT."""
    from django.db import transaction

    from accounts.models import Role, User
    from compounds.models import Community, Compound, ControlStatus, District, Subdistrict
    from sanitation.models import Area, Round
    from volunteers.models import Membership, Team, Volunteer

    district, _ = District.objects.get_or_create(code="BENCHR-D", defaults={"name": "消杀基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCHR-S", defaults={"name": "消杀基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code="BENCHR-C", defaults={"name": "消杀基准社区", "subdistrict": sub}
    )
    if (
        Area.objects.filter(compound__community=community).count() == compounds_wanted * AREAS
        and Compound.objects.filter(community=community).count() == compounds_wanted
    ):
        return community
    print(
        f"setting up {compounds_wanted:,} compounds, {compounds_wanted * AREAS:,} areas, "
        f"{compounds_wanted * CLEANERS:,} cleaners (once)...",
        flush=True,
    )
    with transaction.atomic():
        if Compound.objects.filter(community=community).count() > compounds_wanted:
            # A smaller size than the last set-up: start again.
            Round.objects.filter(compound__community=community).delete()
            Area.objects.filter(compound__community=community).delete()
            _drop_cleaners(community)
            Compound.objects.filter(community=community).delete()
        have = Compound.objects.filter(community=community).count()
        Compound.objects.bulk_create(
            [
                Compound(
                    community=community,
                    subdistrict=sub,
                    district=district,
                    code=f"BENCHR-K{n:05d}",
                    name=f"消杀小区{n}",
                    status=ControlStatus.SEALED,
                )
                for n in range(have, compounds_wanted)
            ],
            batch_size=5000,
        )
        compounds = list(Compound.objects.filter(community=community).order_by("pk"))
        Area.objects.filter(compound__community=community).delete()
        Area.objects.bulk_create(
            [
                Area(
                    compound=c,
                    kind=KINDS[i % len(KINDS)],
                    name=f"点位{i + 1}",
                    method="spray",
                    times=[f"{7 + (i % 13):02d}:{(i * 7) % 60:02d}"],
                    window_minutes=60,
                )
                for c in compounds
                for i in range(AREAS)
            ],
            batch_size=10_000,
        )
        if Team.objects.filter(community=community).count() != len(compounds):
            _drop_cleaners(community)
            teams = Team.objects.bulk_create(
                [
                    Team(community=community, name=f"保洁队{c.pk}", kind="cleaning")
                    for c in compounds
                ],
                batch_size=5000,
            )
            Team.compounds.through.objects.bulk_create(
                [
                    Team.compounds.through(team_id=t.pk, compound_id=c.pk)
                    for t, c in zip(teams, compounds, strict=True)
                ],
                batch_size=10_000,
            )
            users = User.objects.bulk_create(
                [
                    User(username=f"19{n:09d}", role=Role.VOLUNTEER, password="!")  # noqa: S106 - unusable
                    for n in range(len(compounds) * CLEANERS)
                ],
                batch_size=10_000,
            )
            volunteers = Volunteer.objects.bulk_create(
                [
                    Volunteer(user=u, community=community, name=f"保洁员{n}", phone=u.username)
                    for n, u in enumerate(users)
                ],
                batch_size=10_000,
            )
            Membership.objects.bulk_create(
                [
                    Membership(team=teams[n // CLEANERS], volunteer=v)
                    for n, v in enumerate(volunteers)
                ],
                batch_size=10_000,
            )
        benchdb.analyze(Compound, Area, Team, Team.compounds.through, User, Volunteer, Membership)
    return community


def _drop_cleaners(community) -> None:
    from accounts.models import User
    from volunteers.models import Team, Volunteer

    users = list(Volunteer.objects.filter(community=community).values_list("user_id", flat=True))
    Team.objects.filter(community=community).delete()
    Volunteer.objects.filter(community=community).delete()
    User.objects.filter(pk__in=users).delete()


def child() -> None:
    """Ours, in its own process: generate tomorrow, then again; print the figures as JSON."""
    benchdb.setup(migrate=False)
    from django.utils import timezone

    from sanitation import services

    day = timezone.localdate() + datetime.timedelta(days=1)
    started = time.perf_counter()
    first = services.rosters_generate(day=day)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    second = services.rosters_generate(day=day)
    again = time.perf_counter() - started
    from accounts.models import User
    from sanitation import selectors
    from sanitation.models import Round

    MINE = "BENCHR-"  # the bench's compound codes
    staff = User(is_superuser=True, is_active=True)
    started = time.perf_counter()
    rows = selectors.compound_progress(user=staff, day=day)
    selectors.community_progress(rows)
    table = time.perf_counter() - started
    rss = benchdb.peak_rss_kb() / 1024
    print(
        json.dumps(
            {
                "created": first.created,
                # Of those, the bench's own compounds' (other benches share the database).
                "mine": Round.objects.filter(date=day, compound__code__startswith=MINE).count(),
                "seconds": ours,
                "second_created": second.created,
                "second_existed": second.existed,
                "second_seconds": again,
                "rss_mb": rss,
                "table_seconds": table,
                "table_rows": len(rows),
            }
        )
    )


def baseline(community, day, rounds: int = BASELINE_ROUNDS) -> tuple[int, float]:
    """One save per round, the cleaners read per compound, on a slice of the compounds."""
    from compounds.models import Compound
    from sanitation.models import Area, Round
    from volunteers.models import Membership
    from wuyi.lib import localday

    compounds = list(Compound.objects.filter(community=community).order_by("pk")[: rounds // AREAS])
    made = 0
    started = time.perf_counter()
    for compound in compounds:
        pool = list(
            Membership.objects.filter(team__compounds=compound)
            .order_by("volunteer_id")
            .values_list("volunteer_id", flat=True)
        )
        for n, area in enumerate(Area.objects.filter(compound=compound, active=True)):
            for at in area.times:
                due = localday.aware(day, datetime.time.fromisoformat(at))
                Round.objects.create(
                    area=area,
                    compound=compound,
                    date=day,
                    due_at=due,
                    window_ends_at=due + datetime.timedelta(minutes=area.window_minutes),
                    assignee_id=pool[(day.toordinal() + n) % len(pool)] if pool else None,
                )
                made += 1
    return made, time.perf_counter() - started


def clear(community) -> None:
    """Delete the bench's rounds in one statement (a Django delete() plans an IN over a table
    whose statistics may say it is empty), then analyze: each run starts from the same state."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM sanitation_round r USING compounds_compound c "
            "WHERE r.compound_id = c.id AND c.community_id = %s",
            [community.pk],
        )
        cur.execute("ANALYZE sanitation_round")
        cur.execute("ANALYZE sanitation_area")


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        child()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=COMPOUNDS, help="the city's size")
    parser.add_argument("--smoke", action="store_true", help="a small size, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.compounds = 100
    compounds = args.compounds
    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)
    from django.utils import timezone

    community = ensure_places(compounds)
    clear(community)

    run = subprocess.run(
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        sys.exit(f"the roster run failed:\n{run.stderr[-3000:]}")
    ours = json.loads(run.stdout.strip().splitlines()[-1])
    rate = ours["created"] / ours["seconds"]
    print(
        f"ours: {ours['created']:,} rounds in {ours['seconds']:.2f} s ({rate:,.0f}/s), "
        f"peak RSS {ours['rss_mb']:.0f} MB; second run {ours['second_created']:,} created, "
        f"{ours['second_existed']:,} already existed in {ours['second_seconds']:.2f} s",
        flush=True,
    )

    print(
        f"the district's completion table over {ours['table_rows']:,} compounds: "
        f"{ours['table_seconds']:.2f} s",
        flush=True,
    )
    day = timezone.localdate() + datetime.timedelta(days=2)
    made, base = baseline(community, day, 200 if args.smoke else BASELINE_ROUNDS)
    base_rate = made / base
    ratio = rate / base_rate
    print(f"baseline: {made:,} rounds one save each in {base:.2f} s ({base_rate:,.0f}/s)")
    clear(community)

    ok = {
        "count": ours["mine"] == compounds * AREAS,
        "second run": ours["second_created"] == 0,
        "time": ours["seconds"] < TARGET_SECONDS,
        "memory": ours["rss_mb"] < TARGET_RSS_MB,
        "ratio": ratio >= TARGET_RATIO,
    }
    print()
    print(f"  rounds      {ours['created']:,} in {ours['seconds']:.2f} s (target < 20 s)")
    print(f"  peak RSS    {ours['rss_mb']:.0f} MB (target < {TARGET_RSS_MB} MB)")
    print(f"  ratio       {ratio:.1f} x one save per round (target >= {TARGET_RATIO:.0f}x)")
    print(f"  second run  {ours['second_created']} created (target 0)")
    speed = {"time", "ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print(
        f"rosters: {ours['created']:,} rounds in {ours['seconds']:.2f} s, "
        f"{ours['rss_mb']:.0f} MB, {ratio:.1f} x one save per round, "
        f"second run {ours['second_created']} created: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
