"""The daily welfare checks at city scale, and "served today" over a community's ledger.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python bench/welfare.py

1. Sets up 2,000 compounds (codes BENCHW-*) of 100 elderly residents living alone each (two to
   a household), with a team of three volunteers serving each compound: 200,000 ledger
   residents, by bulk_create, once. And a second community of 5,000 ledger residents
   (50 compounds) with its secretary, for the served-today selector.
2. Ours: care.services.checks_generate() for tomorrow: 200,000 checks, each given a volunteer of
   its compound in turn. Then a second run in the same process, which must create none. Then
   two copies at once (two processes) for the day after: together they must create each check
   exactly once, and neither may fail.
3. Baseline in the same run: one WelfareCheck.objects.create() per check, the volunteers read
   per compound, on a slice (2,000 checks).
4. The served-today selector over the 5,000-resident community, and over a tenth of it: the same
   number of queries.

Targets: under 20 s, at least 10x the baseline's rate, a second run creating none, two copies
creating each check once, constant queries. The last line sums it up; exit 1 when a target is
missed.

--smoke: 20 compounds (2,000 checks), a baseline of 200, a 500-resident community; the speed
targets are not judged.
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

COMPOUNDS = 2_000
PER_COMPOUND = 100  # ledger residents
PER_HOUSEHOLD = 2
VOLUNTEERS = 3
SERVED_RESIDENTS = 5_000
BASELINE_CHECKS = 2_000
TARGET_SECONDS = 20.0
TARGET_RATIO = 10.0


def _places(code: str, name: str, compounds_wanted: int):
    """A community of `compounds_wanted` compounds of PER_COMPOUND ledger residents each, a
    team of VOLUNTEERS serving each compound (created once)."""
    from django.db import transaction

    from accounts.models import Role, User
    from compounds.models import Building, Community, Compound, District, Subdistrict
    from residents.models import Household, Resident, VulnerableTag
    from volunteers.models import Membership, Team, Volunteer

    district, _ = District.objects.get_or_create(code="BENCHW-D", defaults={"name": "关爱基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCHW-S", defaults={"name": "关爱基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code=code, defaults={"name": name, "subdistrict": sub}
    )
    wanted = compounds_wanted * PER_COMPOUND
    if (
        Compound.objects.filter(community=community).count() == compounds_wanted
        and VulnerableTag.objects.filter(resident__community=community).count() == wanted
    ):
        return community
    print(f"setting up {name}: {wanted:,} ledger residents (once)...", flush=True)
    with transaction.atomic():
        _drop(community)
        compounds = Compound.objects.bulk_create(
            [
                Compound(
                    community=community,
                    subdistrict=sub,
                    district=district,
                    code=f"{code}-K{n:05d}",
                    name=f"{name}小区{n}",
                    status="sealed",
                )
                for n in range(compounds_wanted)
            ],
            batch_size=5000,
        )
        buildings = Building.objects.bulk_create(
            [Building(compound=c, number="1", name="1号楼") for c in compounds], batch_size=5000
        )
        per = PER_COMPOUND // PER_HOUSEHOLD
        households = Household.objects.bulk_create(
            [
                Household(compound=c, building=b, unit="1", room=str(101 + n))
                for c, b in zip(compounds, buildings, strict=True)
                for n in range(per)
            ],
            batch_size=10_000,
        )
        residents = Resident.objects.bulk_create(
            [
                Resident(
                    household=h, compound_id=h.compound_id, community=community, name=f"老人{n}"
                )
                for h in households
                for n in range(PER_HOUSEHOLD)
            ],
            batch_size=10_000,
        )
        VulnerableTag.objects.bulk_create(
            [VulnerableTag(resident=r, category="elderly_alone") for r in residents],
            batch_size=10_000,
        )
        teams = Team.objects.bulk_create(
            [Team(community=community, name=f"志愿队{c.pk}", kind="youth") for c in compounds],
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
                User(username=f"{code}-{n}", role=Role.VOLUNTEER, password="!")  # noqa: S106
                for n in range(len(compounds) * VOLUNTEERS)
            ],
            batch_size=10_000,
        )
        volunteers = Volunteer.objects.bulk_create(
            [
                Volunteer(user=u, community=community, name=f"志愿者{n}", phone=f"{code}{n}")
                for n, u in enumerate(users)
            ],
            batch_size=10_000,
        )
        Membership.objects.bulk_create(
            [
                Membership(team=teams[n // VOLUNTEERS], volunteer=v)
                for n, v in enumerate(volunteers)
            ],
            batch_size=10_000,
        )
        benchdb.analyze(
            Compound,
            Building,
            Household,
            Resident,
            VulnerableTag,
            Team,
            User,
            Volunteer,
            Membership,
        )
    return community


def _drop(community) -> None:
    from django.db import connection

    from accounts.models import User
    from compounds.models import Compound
    from residents.models import Household, Resident, VulnerableTag
    from volunteers.models import Team, Volunteer

    clear(community)
    users = list(Volunteer.objects.filter(community=community).values_list("user_id", flat=True))
    Team.objects.filter(community=community).delete()
    Volunteer.objects.filter(community=community).delete()
    User.objects.filter(pk__in=users).delete()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM care_need")
    VulnerableTag.objects.filter(resident__community=community).delete()
    Resident.objects.filter(community=community).delete()
    Household.objects.filter(compound__community=community).delete()
    Compound.objects.filter(community=community).delete()


def clear(community) -> None:
    """Delete the bench's checks in one statement, then analyze: each run starts the same."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM care_welfarecheck w USING compounds_compound c "
            "WHERE w.compound_id = c.id AND c.community_id = %s",
            [community.pk],
        )
        cur.execute("ANALYZE care_welfarecheck")


def _compound_ids(code: str) -> list[int]:
    from compounds.models import Compound

    return list(Compound.objects.filter(community__code=code).values_list("pk", flat=True))


def child(mode: str, code: str, offset: int) -> None:
    """In its own process: generate the day `offset` days ahead (mode "twice": then again)."""
    benchdb.setup(migrate=False)
    from django.utils import timezone

    from care import services

    day = timezone.localdate() + datetime.timedelta(days=offset)
    ids = _compound_ids(code)
    started = time.perf_counter()
    first = services.checks_generate(day=day, compounds=ids)
    seconds = time.perf_counter() - started
    out = {"created": first.created, "existed": first.existed, "seconds": seconds}
    if mode == "twice":
        started = time.perf_counter()
        second = services.checks_generate(day=day, compounds=ids)
        out.update(
            second_created=second.created,
            second_existed=second.existed,
            second_seconds=time.perf_counter() - started,
        )
    print(json.dumps(out))


def baseline(community, day, checks: int) -> tuple[int, float]:
    """One save per check, the volunteers read per compound, on a slice of the compounds."""
    from care.models import WelfareCheck
    from compounds.models import Compound
    from residents.models import VulnerableTag
    from volunteers.models import Membership

    compounds = list(
        Compound.objects.filter(community=community).order_by("pk")[: checks // PER_COMPOUND]
    )
    made = 0
    started = time.perf_counter()
    for compound in compounds:
        pool = list(
            Membership.objects.filter(team__compounds=compound)
            .order_by("volunteer_id")
            .values_list("volunteer_id", flat=True)
        )
        tags = VulnerableTag.objects.filter(
            resident__compound=compound, category="elderly_alone"
        ).select_related("resident")
        for n, tag in enumerate(tags):
            WelfareCheck.objects.create(
                resident=tag.resident,
                compound=compound,
                household_id=tag.resident.household_id,
                date=day,
                category=tag.category,
                volunteer_id=pool[n % len(pool)] if pool else None,
            )
            made += 1
    return made, time.perf_counter() - started


def served_queries(community) -> tuple[int, int, int, float]:
    """Queries of the served-today selector for the whole community and for a tenth of it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Role, User
    from care import selectors
    from compounds.models import Compound, Posting

    secretary, created = User.objects.get_or_create(
        username=f"{community.code}-secretary", defaults={"role": Role.SECRETARY}
    )
    if created:
        Posting.objects.create(user=secretary, community=community)
    day = timezone.localdate()
    selectors.served_today(user=secretary, day=day)  # the user's places, read once
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as whole:
        lines = selectors.served_today(user=secretary, day=day)
    seconds = time.perf_counter() - started
    one = Compound.objects.filter(community=community).order_by("pk").first()
    with CaptureQueriesContext(connection) as part:
        selectors.served_today(user=secretary, day=day, compound=one)
    return len(whole), len(part), len(lines), seconds


def _run(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"a welfare-check run failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=COMPOUNDS, help="the city's size")
    parser.add_argument("--smoke", action="store_true", help="a small size, for CI")
    args = parser.parse_args()
    served_compounds = SERVED_RESIDENTS // PER_COMPOUND
    base_checks = BASELINE_CHECKS
    if args.smoke:
        args.compounds, served_compounds, base_checks = 20, 5, 200
    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)
    from django.utils import timezone

    city = _places("BENCHW-C", "关爱基准社区", args.compounds)
    served = _places("BENCHW-T", "今日服务社区", served_compounds)
    total = args.compounds * PER_COMPOUND
    clear(city)

    ours = _result(_run(["twice", "BENCHW-C", "1"]))
    rate = ours["created"] / ours["seconds"]
    print(
        f"ours: {ours['created']:,} checks in {ours['seconds']:.2f} s ({rate:,.0f}/s); second "
        f"run {ours['second_created']:,} created, {ours['second_existed']:,} already existed "
        f"in {ours['second_seconds']:.2f} s",
        flush=True,
    )
    a, b = _run(["once", "BENCHW-C", "2"]), _run(["once", "BENCHW-C", "2"])
    ra, rb = _result(a), _result(b)
    together = ra["created"] + rb["created"]
    print(
        f"two copies at once: {ra['created']:,} + {rb['created']:,} created "
        f"({together:,} of {total:,})",
        flush=True,
    )
    day = timezone.localdate() + datetime.timedelta(days=3)
    made, base = baseline(city, day, base_checks)
    base_rate = made / base
    ratio = rate / base_rate
    print(f"baseline: {made:,} checks one save each in {base:.2f} s ({base_rate:,.0f}/s)")
    clear(city)

    whole, part, lines, served_seconds = served_queries(served)
    print(
        f"served today: {lines:,} ledger residents in {whole} queries ({served_seconds:.2f} s); "
        f"one compound in {part} queries",
        flush=True,
    )

    ok = {
        "count": ours["created"] == total,
        "second run": ours["second_created"] == 0,
        "two copies": together == total,
        "constant queries": whole == part and lines == served_compounds * PER_COMPOUND,
        "time": ours["seconds"] < TARGET_SECONDS,
        "ratio": ratio >= TARGET_RATIO,
    }
    print()
    print(f"  checks      {ours['created']:,} in {ours['seconds']:.2f} s (target < 20 s)")
    print(f"  ratio       {ratio:.1f} x one save per check (target >= {TARGET_RATIO:.0f}x)")
    print(f"  second run  {ours['second_created']} created (target 0)")
    print(f"  two copies  {together:,} created of {total:,} (target: each once)")
    print(f"  served      {whole} queries for {lines:,} residents, {part} for one compound")
    speed = {"time", "ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print(
        f"welfare: {ours['created']:,} checks in {ours['seconds']:.2f} s, {ratio:.1f} x one save "
        f"per check, second run {ours['second_created']} created, two copies {together:,}/"
        f"{total:,}, served today {whole} queries: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
