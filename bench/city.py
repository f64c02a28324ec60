"""The district dashboards at the scale of a city: pages and the daily report.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python bench/city.py
    [--compounds 3000] [--residents 1000000] [--repeat 15] [--smoke]

Seeds (once; idempotent) 3 districts x 10 sub-districts x 10 communities (BCITY-*) with
--compounds compounds between them, --residents residents (COPY, through seed_residents.seed),
and in proportion: status changes over four weeks, positive cases, disinfection areas and
today's rounds, supply orders (open, late, delivered this week), SMS messages with recipients
sent today, medical workers and ambulances. A small district (BCITY-SM, 30 compounds)
is seeded alike, to compare query counts. The activity is written afresh every run.

Measures, warm (median of --repeat after 3 warm-ups), through Django's test client: the city
overview (a user posted to the three districts), a district, a community and a compound page,
each as a ratio to a trivial logged-in view (the home redirect) in the same run; the query
count of each page at 30 and at --compounds compounds (must be equal); and one district's
daily report (reports.report_write).

Also printed, not judged: the city page cold, when the counts kept for 15 minutes (residents and
vulnerable residents per compound, the campaign's stages) are made again.

Targets: every page under 300 ms median, equal query counts, the report under 10 s.
--smoke: 60 compounds and 20,000 residents in the smoke database; times printed, not judged.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

PREFIX = "BCITY-"
SMALL = f"{PREFIX}SM"
DISTRICTS, SUBS, COMMUNITIES = 3, 10, 10
BUILDINGS = 4
PAGE_TARGET_MS = 300
REPORT_TARGET_S = 10


def ensure_places(code: str, name: str, subs: int, communities: int, per_community: int) -> list:
    """One district of the city (idempotent): [(compound, [building ids])] in order."""
    from compounds.models import Building, Community, Compound, District, Subdistrict

    district, _ = District.objects.get_or_create(code=code, defaults={"name": name})
    have = set(Compound.objects.filter(district=district).values_list("code", flat=True))
    new_c, new_k = [], []
    for s in range(1, subs + 1):
        sub, _ = Subdistrict.objects.get_or_create(
            code=f"{code}-S{s:02d}", defaults={"name": f"{name}{s}街道", "district": district}
        )
        for c in range(1, communities + 1):
            community, _ = Community.objects.get_or_create(
                code=f"{code}-S{s:02d}C{c:02d}",
                defaults={"name": f"{name}{s}街道{c}社区", "subdistrict": sub},
            )
            for k in range(1, per_community + 1):
                kcode = f"{community.code}-K{k:02d}"
                if kcode not in have:
                    new_k.append(
                        Compound(
                            code=kcode,
                            name=f"{community.name}{k}号院",
                            community=community,
                            subdistrict=sub,
                            district=district,
                        )
                    )
    del new_c
    Compound.objects.bulk_create(new_k, batch_size=2000)
    compounds = list(Compound.objects.filter(district=district).order_by("code"))
    have_b = set(
        Building.objects.filter(compound__district=district).values_list("compound_id", flat=True)
    )
    Building.objects.bulk_create(
        [
            Building(compound=k, number=str(b), name=f"{b}号楼", unit_count=3, floor_count=18)
            for k in compounds
            if k.pk not in have_b
            for b in range(1, BUILDINGS + 1)
        ],
        batch_size=5000,
    )
    buildings: dict[int, list[int]] = {}
    for bid, kid in Building.objects.filter(compound__district=district).values_list(
        "id", "compound_id"
    ):
        buildings.setdefault(kid, []).append(bid)
    return [(k, sorted(buildings[k.pk])) for k in compounds]


def ensure_residents(n: int, layout: list) -> str:
    """--residents residents over the city's buildings (seed_residents' COPY), unless there."""
    import seed_residents
    from django.db import connection

    from residents.models import Household, Resident, VulnerableTag

    ids = sorted({k.community_id for k, _b in layout})
    have = Resident.objects.filter(community_id__in=ids).count()
    if have == n:
        return f"{n:,} residents already seeded"
    res, hh, tag = (m._meta.db_table for m in (Resident, Household, VulnerableTag))
    with connection.cursor() as cur:
        cur.execute(
            f"DELETE FROM {tag} WHERE resident_id IN "
            f"(SELECT id FROM {res} WHERE community_id = ANY(%s))",
            [ids],
        )
        cur.execute(f"DELETE FROM {res} WHERE community_id = ANY(%s)", [ids])
        cur.execute(
            f"DELETE FROM {hh} WHERE compound_id IN "
            "(SELECT id FROM compounds_compound WHERE community_id = ANY(%s))",
            [ids],
        )
    started = time.perf_counter()
    # ID numbers after the register's seed (at most 10 million), so both fit in one database.
    seed_residents.seed(n, layout, dummy_cipher=True, id_offset=10_000_000)
    seed_residents.vacuum_analyze()
    return f"seeded {n:,} residents in {time.perf_counter() - started:.0f} s"


def seed_activity(layout: list, user) -> dict:
    """Status changes, cases, areas and today's rounds, orders, SMS, medical cover: deleted and
    written again (bulk_create), in proportion to the compounds."""
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from compounds.models import Compound, PositiveCase, StatusChange
    from medical.models import Ambulance, MedicalStaff
    from messaging.models import Message, Recipient, SmsTemplate
    from residents.models import Household
    from sanitation.models import Area, Round
    from supplies.models import Order

    rng = random.Random(20261204)
    now = timezone.now()
    today = timezone.localdate()
    ids = [k.pk for k, _b in layout]
    communities = sorted({k.community_id for k, _b in layout})
    with transaction.atomic():
        for model in (StatusChange, PositiveCase, Round, Area, Order, MedicalStaff, Ambulance):
            model.objects.filter(compound_id__in=ids).delete()
        Message.objects.filter(community_id__in=communities, purpose="bench-city").delete()
        statuses = {}
        for k in ids:
            roll = rng.random()
            statuses[k] = "sealed" if roll < 0.2 else "controlled" if roll < 0.35 else "normal"
        for status in ("sealed", "controlled", "normal"):
            Compound.objects.filter(pk__in=[k for k in ids if statuses[k] == status]).update(
                status=status
            )
        changes = [
            StatusChange(
                compound_id=k,
                from_status="normal",
                to_status=statuses[k],
                reason="bench",
                changed_by=user,
                changed_at=now - datetime.timedelta(hours=rng.randrange(1, 27 * 24)),
            )
            for k in ids
            if statuses[k] != "normal"
        ]
        StatusChange.objects.bulk_create(changes, batch_size=5000)
        cases = [
            PositiveCase(
                compound_id=k,
                found_on=today - datetime.timedelta(days=rng.randrange(0, 28)),
                recorded_by=user,
            )
            for k in ids
            if statuses[k] == "sealed" and rng.random() < 0.5
        ]
        PositiveCase.objects.bulk_create(cases, batch_size=5000)
        covered = [k for k in ids if statuses[k] != "normal"]
        MedicalStaff.objects.bulk_create(
            [
                MedicalStaff(compound_id=k, name="医生", role="doctor")
                for k in covered
                if rng.random() < 0.8
            ]
        )
        Ambulance.objects.bulk_create(
            [
                Ambulance(compound_id=k, plate=f"BC{k:06d}{j}")
                for k in covered
                for j in range(2)
                if rng.random() < 0.8
            ]
        )
        areas = Area.objects.bulk_create(
            [
                Area(compound_id=k, kind="lift", name=f"电梯{j}", method="spray", times=["09:00"])
                for k in covered
                for j in range(5)
            ],
            batch_size=5000,
        )
        due = timezone.make_aware(datetime.datetime.combine(today, datetime.time(9)))
        rounds = [
            Round(
                area=a,
                compound_id=a.compound_id,
                date=today,
                due_at=due,
                window_ends_at=due + datetime.timedelta(hours=1),
                done_at=due if rng.random() < 0.7 else None,
            )
            for a in areas
        ]
        Round.objects.bulk_create(rounds, batch_size=5000)
        households = dict(
            Household.objects.filter(compound_id__in=ids)
            .order_by("compound_id", "id")
            .distinct("compound_id")
            .values_list("compound_id", "id")
        )
        building_of = {k.pk: b[0] for k, b in layout}
        orders = []
        for k in ids:
            if k not in households:
                continue
            for j in range(10):
                roll = rng.random()
                submitted = now - datetime.timedelta(hours=rng.randrange(1, 7 * 24))
                delivered = roll < 0.6
                orders.append(
                    Order(
                        compound_id=k,
                        building_id=building_of[k],
                        household_id=households[k],
                        kind="proxy",
                        status="delivered" if delivered else "submitted",
                        client_key=f"city-{k}-{j}",
                        submitted_at=submitted,
                        delivered_at=submitted + datetime.timedelta(hours=rng.randrange(2, 30))
                        if delivered
                        else None,
                    )
                )
        Order.objects.bulk_create(orders, batch_size=5000)
        template = SmsTemplate.objects.first()
        messages = Message.objects.bulk_create(
            [
                Message(template=template, purpose="bench-city", community_id=c, send_at=now)
                for c in communities
            ]
        )
        sent = now - datetime.timedelta(minutes=30)
        recipients = [
            Recipient(message=m, phone=f"139{i:08d}", status="sent", due_at=sent, sent_at=sent)
            for m in messages
            for i in range(100)
        ]
        Recipient.objects.bulk_create(recipients, batch_size=10000)
        benchdb.analyze(
            StatusChange,
            PositiveCase,
            Area,
            Round,
            Order,
            Message,
            Recipient,
            MedicalStaff,
            Ambulance,
            Compound,
        )
        counted = {
            "status changes": len(changes),
            "cases": len(cases),
            "rounds": len(rounds),
            "orders": len(orders),
            "SMS recipients": len(recipients),
        }
    # What autovacuum does on a live register: the rows deleted above are gone from the pages,
    # and the visibility map lets the dashboards read their indexes alone.
    with connection.cursor() as cur:
        for model in (Order, Recipient, Round, StatusChange, PositiveCase):
            cur.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')
    return counted


def seed_samples(layout: list) -> str:
    """Two testing rounds in each district (one begun three days ago, one today), samples of
    90 % then 60 % of the residents, 20 to a tube: written once, in the database (INSERT ...
    SELECT), and kept by later runs."""
    from django.db import connection, transaction
    from django.utils import timezone

    from compounds.models import Compound
    from residents.models import Resident
    from screening.models import Sample, TestingRound, Tube

    district_ids = sorted({k.district_id for k, _b in layout})
    today = timezone.localdate()
    rounds = TestingRound.objects.filter(district_id__in=district_ids, number__in=(1, 2))
    if rounds.count() == 2 * len(district_ids) and Sample.objects.filter(round__in=rounds).exists():
        return f"{Sample.objects.filter(round__in=rounds).count():,} samples already seeded"
    started = time.perf_counter()
    with transaction.atomic():
        Sample.objects.filter(round__in=rounds).delete()
        Tube.objects.filter(round__in=rounds).delete()
        rounds.delete()
        made = [
            TestingRound.objects.create(
                district_id=d,
                number=n,
                starts_on=today - datetime.timedelta(days=3 if n == 1 else 0),
                ends_on=today + datetime.timedelta(days=1),
            )
            for d in district_ids
            for n in (1, 2)
        ]
        ids = [r.pk for r in made]
        tube, sample, res, cpd = (m._meta.db_table for m in (Tube, Sample, Resident, Compound))
        with connection.cursor() as cur:
            # Round 1 (three days ago): 9 residents in 10; round 2 (today's): 6 in 10; 20 to a
            # tube, in id order within each compound.
            cur.execute(
                "CREATE TEMP TABLE bc_picked ON COMMIT DROP AS SELECT p.id AS resident_id,"
                " p.household_id, p.compound_id, r.id AS round_id, r.starts_on,"
                " (row_number() OVER (PARTITION BY r.id, p.compound_id ORDER BY p.id) - 1) / 20"
                f" AS slot FROM {res} p JOIN {cpd} k ON k.id = p.compound_id"
                " JOIN screening_testinground r ON r.district_id = k.district_id"
                " WHERE r.id = ANY(%s) AND p.id %% 10 < (CASE r.number WHEN 1 THEN 9 ELSE 6 END)",
                [ids],
            )
            taken = "(starts_on + time '10:00') AT TIME ZONE 'Asia/Shanghai'"
            cur.execute(
                f"INSERT INTO {tube} (round_id, compound_id, barcode, kind, retest, status, size,"
                f" result, opened_at) SELECT round_id, compound_id, 'BC' || compound_id || '-' ||"
                f" slot, 'pool20', false, 'closed', count(*), '', min({taken}) FROM bc_picked"
                " GROUP BY round_id, compound_id, slot"
            )
            cur.execute(
                f"INSERT INTO {sample} (tube_id, round_id, compound_id, resident_id, household_id,"
                " retest, key, taken_at) SELECT t.id, p.round_id, p.compound_id, p.resident_id,"
                f" p.household_id, false, 'bc-' || p.round_id || '-' || p.resident_id, {taken}"
                f" FROM bc_picked p JOIN {tube} t ON t.round_id = p.round_id"
                " AND t.barcode = 'BC' || p.compound_id || '-' || p.slot"
            )
            n = cur.rowcount
    with connection.cursor() as cur:
        for table in (tube, sample):
            cur.execute(f'VACUUM ANALYZE "{table}"')
    return f"seeded {n:,} samples in two rounds in {time.perf_counter() - started:.0f} s"


def seed_care_and_escorts(layout: list, user) -> dict:
    """Today's welfare checks (10 a compound, a third not yet done) and escorts (two a sealed or
    controlled compound, one in ten an emergency): deleted and written again."""
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from care.models import WelfareCheck
    from compounds.models import Compound
    from medical.models import Escort
    from residents.models import Resident

    rng = random.Random(20261205)
    ids = [k.pk for k, _b in layout]
    today, now = timezone.localdate(), timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT compound_id, id, household_id FROM (SELECT compound_id, id, household_id,"
            " row_number() OVER (PARTITION BY compound_id ORDER BY id) AS n"
            f" FROM {Resident._meta.db_table} WHERE compound_id = ANY(%s)) s WHERE n <= 10",
            [ids],
        )
        people = cur.fetchall()
    covered = set(
        Compound.objects.filter(pk__in=ids, status__in=("sealed", "controlled")).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        WelfareCheck.objects.filter(compound_id__in=ids).delete()
        Escort.objects.filter(compound_id__in=ids).delete()
        checks = WelfareCheck.objects.bulk_create(
            [
                WelfareCheck(
                    compound_id=k,
                    resident_id=r,
                    household_id=h,
                    date=today,
                    category="elderly_alone",
                    outcome=rng.choice(("open", "phone", "visited")),
                )
                for k, r, h in people
            ],
            batch_size=5000,
        )
        first = {}
        for k, r, _h in people:
            first.setdefault(k, r)
        escorts = Escort.objects.bulk_create(
            [
                Escort(
                    compound_id=k,
                    resident_id=first[k],
                    kind="emergency" if rng.random() < 0.1 else "dialysis",
                    scheduled_at=now + datetime.timedelta(hours=j - 1),
                    expected_return_at=now + datetime.timedelta(hours=j + 3),
                    status="scheduled",
                    created_by=user,
                )
                for k in sorted(covered)
                if k in first
                for j in range(2)
            ],
            batch_size=5000,
        )
        benchdb.analyze(WelfareCheck, Escort)
    return {"welfare checks": len(checks), "escorts": len(escorts)}


def user(username: str, role: str, places: list):
    from accounts.access import forget_scope
    from accounts.models import User
    from compounds.models import Posting

    u, _ = User.objects.get_or_create(username=username, defaults={"role": role})
    Posting.objects.filter(user=u).delete()
    for place in places:
        Posting.objects.create(user=u, **{place._meta.model_name: place})
    forget_scope(u)
    return u


def timed(client, url: str, repeat: int) -> tuple[float, int]:
    """Median ms of `repeat` warm GETs, and the query count of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        response = client.get(url, secure=True)
        if response.status_code not in (200, 302):
            sys.exit(f"{url} answered {response.status_code}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, secure=True)
    return statistics.median(times), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compounds", type=int, default=3000)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.compounds, args.residents, args.repeat = 60, 20_000, 5
    db = benchdb.setup(smoke=args.smoke)
    print(f"database: {db}", flush=True)

    from django.conf import settings
    from django.test import Client, override_settings
    from django.urls import reverse

    from accounts.models import Role
    from compounds.models import Community, District
    from dashboards import reports

    # DEBUG is off here: no collected manifest is needed to render the pages.
    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    subs = SUBS if not args.smoke else 2
    communities = COMMUNITIES if not args.smoke else 2
    per_community = max(1, args.compounds // (DISTRICTS * subs * communities))
    started = time.perf_counter()
    layout = []
    for d in range(1, DISTRICTS + 1):
        layout += ensure_places(f"{PREFIX}D{d}", f"基准{d}区", subs, communities, per_community)
    small = ensure_places(SMALL, "基准小区", 1, 3, 10)
    print(
        f"places: {len(layout):,} compounds in {DISTRICTS} districts, "
        f"{len(small)} in the small one",
        flush=True,
    )
    print(ensure_residents(args.residents, layout + small), flush=True)
    admin = user("bench_city_admin", Role.DISTRICT_STAFF, [])
    counts = seed_activity(layout + small, admin)
    counts.update(seed_care_and_escorts(layout + small, admin))
    print(seed_samples(layout + small), flush=True)
    print(
        "activity: "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items())
        + f" (set-up {time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    districts = list(District.objects.filter(code__startswith=f"{PREFIX}D").order_by("code"))
    small_district = District.objects.get(code=SMALL)
    city = user("bench_city", Role.DISTRICT_STAFF, districts)
    staff = user("bench_city_district", Role.DISTRICT_STAFF, [districts[0]])
    small_staff = user("bench_city_small", Role.DISTRICT_STAFF, [small_district])
    # The city page of a small city: posted to several places, it lists what lies above them.
    small_city = user(
        "bench_city_small_city",
        Role.DISTRICT_STAFF,
        list(Community.objects.filter(subdistrict__district=small_district)),
    )

    def client_of(u):
        c = Client()
        c.force_login(u)
        return c

    big, little = client_of(staff), client_of(small_staff)
    base_ms, base_q = timed(big, reverse("home"), args.repeat)
    print(f"baseline: the home redirect (logged in) {base_ms:.1f} ms, {base_q} queries", flush=True)
    community = (
        Community.objects.filter(subdistrict__district=districts[0]).order_by("code").first()
    )
    small_community = (
        Community.objects.filter(subdistrict__district=small_district).order_by("code").first()
    )
    big_compound, small_compound = layout[0][0], small[0][0]
    area = lambda level, pk: reverse("dashboards:area", args=[level, pk])  # noqa: E731
    pages = [
        (
            "city",
            client_of(city),
            reverse("dashboards:overview"),
            client_of(small_city),
            reverse("dashboards:overview"),
        ),
        (
            "district",
            big,
            area("district", districts[0].pk),
            little,
            area("district", small_district.pk),
        ),
        (
            "community",
            big,
            area("community", community.pk),
            little,
            area("community", small_community.pk),
        ),
        (
            "compound",
            big,
            area("compound", big_compound.pk),
            little,
            area("compound", small_compound.pk),
        ),
    ]
    # Cold: the counts kept for 15 minutes (vulnerable and registered residents per compound,
    # the campaign's stages) made again by the first page that needs them. Printed only.
    from django.core.cache import cache

    cache.clear()
    started = time.perf_counter()
    pages[0][1].get(pages[0][2], secure=True)
    cold_ms = (time.perf_counter() - started) * 1000
    print(f"city page cold (the 15-minute counts made again): {cold_ms:.0f} ms", flush=True)
    from dashboards.selectors import figures_refresh

    started = time.perf_counter()
    figures_refresh()
    print(
        f"refresh_figures (every 10 minutes, so that no page is cold): "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    ok = {}
    summary = []
    for name, client, url, small_client, small_url in pages:
        ms, queries = timed(client, url, args.repeat)
        _small_ms, small_queries = timed(small_client, small_url, 1)
        print(
            f"{name:9s} {ms:7.1f} ms median ({ms / base_ms:5.1f}x the baseline), "
            f"{queries} queries (small: {small_queries})",
            flush=True,
        )
        summary.append(f"{name} {ms:.0f} ms ({ms / base_ms:.1f}x)")
        ok[f"{name} < {PAGE_TARGET_MS} ms"] = ms < PAGE_TARGET_MS
        # The city page of a user of three districts lists districts; the small one compares.
        ok[f"{name} queries equal"] = queries == small_queries

    started = time.perf_counter()
    path = reports.report_write(districts[0], datetime.date.today())
    report_s = time.perf_counter() - started
    print(
        f"daily report of one district ({len(layout) // DISTRICTS:,} compounds): "
        f"{report_s:.2f} s -> {path}",
        flush=True,
    )
    ok[f"report < {REPORT_TARGET_S} s"] = report_s < REPORT_TARGET_S

    speed = [k for k in ok if "<" in k]
    verdict = benchdb.verdict(ok, speed=speed, smoke=args.smoke)
    print(
        f"city: {len(layout):,} compounds, {', '.join(summary)}; report {report_s:.1f} s; "
        f"{benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)}"
    )
    sys.exit(0 if verdict else 1)


if __name__ == "__main__":
    main()
