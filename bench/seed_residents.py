"""Seed a large resident register into the bench database, fast (PostgreSQL COPY).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench \
        .venv/bin/python bench/seed_residents.py [--residents 1000000] [--dummy-cipher]

Layout (defaults): one district, 5 sub-districts, 50 communities x 4 compounds x 20 buildings
(3 units, 18 floors, 2 rooms a floor), residents spread evenly over the buildings (about 2.3
a household). Places carry codes prefixed BENCHS-. Residents have unique valid ID numbers:
id_hash from wuyi.lib.pii.keyed_hash, id_cipher from wuyi.lib.pii.encrypt (or, with
--dummy-cipher, one real ciphertext repeated, same length, to save about 20 s), id_last4,
and the denormalised compound_id/community_id. About 6% get a vulnerable-person tag. No
history rows are written (the search does not read them).

Idempotent: when the seeded communities already hold exactly --residents residents it does
nothing; otherwise it deletes the seeded residents, households and tags and seeds again.
The places are analysed once written, the households, residents and tags before the foreign
keys are checked (another bench may have left statistics that say they are empty), and the
seed ends with VACUUM ANALYZE on the seeded tables and ANALYZE on the rest.
--smoke: 20,000 residents in 5 communities x 2 compounds x 10 buildings, in the smoke database
(search_residents.py and export_residents.py --smoke use the same). Prints its throughput
against a Django bulk_create baseline of --baseline-rows residents measured in the same run
(rolled back).
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdata
import benchdb

PREFIX = "BENCHS-"
UNITS, FLOORS, ROOMS_PER_FLOOR = 3, 18, 2
HOUSEHOLDS_PER_BUILDING = UNITS * FLOORS * ROOMS_PER_FLOOR
COMMUNITIES_PER_SUBDISTRICT = 10
CHUNK = 100_000
# The register a --smoke run seeds (ensure_seed's arguments).
SMOKE = {"n": 20_000, "communities": 5, "compounds": 2, "buildings": 10}

# A bijection of 0..M-1 (A is prime to M) spreads residents over 33,000 birth dates x 1,000
# sequence numbers, so every index gives a different ID number.
_ID_SPACE = 33_000 * 1000
_ID_MULT = 7_777_777
_EPOCH = datetime.date(1930, 1, 1)


def national_id(i: int) -> str:
    """The ID number of seeded resident number i (0-based, in insertion order)."""
    k = (i * _ID_MULT) % _ID_SPACE
    born = _EPOCH + datetime.timedelta(days=k // 1000)
    seq = k % 1000
    body = f"{benchdata.SEED_AREAS[i % len(benchdata.SEED_AREAS)]}{born:%Y%m%d}{seq:03d}"
    return body + benchdata.check_char(body)


def seeded_communities():
    from compounds.models import Community

    return Community.objects.filter(code__startswith=PREFIX)


def seeded_count() -> int:
    from residents.models import Resident

    return Resident.objects.filter(community__in=seeded_communities()).count()


def ensure_places(communities: int, compounds: int, buildings: int) -> list:
    """Create the place tree (idempotent); return [(compound, [building ids])] in order."""
    from compounds.models import Building, Community, Compound, District, Subdistrict

    district, _ = District.objects.get_or_create(code=f"{PREFIX}D", defaults={"name": "基准种子区"})
    subs = {}
    for s in range(1, math_ceil(communities, COMMUNITIES_PER_SUBDISTRICT) + 1):
        subs[s], _ = Subdistrict.objects.get_or_create(
            code=f"{PREFIX}S{s:02d}", defaults={"name": f"种子{s}街道", "district": district}
        )
    have = {c.code: c for c in Community.objects.filter(code__startswith=PREFIX)}
    new = []
    for c in range(1, communities + 1):
        code = f"{PREFIX}C{c:03d}"
        if code not in have:
            sub = subs[(c - 1) // COMMUNITIES_PER_SUBDISTRICT + 1]
            new.append(Community(code=code, name=f"种子{c}社区", subdistrict=sub))
    Community.objects.bulk_create(new)
    community_objs = {
        c.code: c for c in Community.objects.filter(code__startswith=PREFIX).order_by("code")
    }
    have_k = {k.code: k for k in Compound.objects.filter(code__startswith=PREFIX)}
    new_k = []
    for c in range(1, communities + 1):
        community = community_objs[f"{PREFIX}C{c:03d}"]
        for k in range(1, compounds + 1):
            code = f"{PREFIX}C{c:03d}-K{k}"
            if code not in have_k:
                new_k.append(
                    Compound(
                        code=code,
                        name=f"种子{c}社区{k}号院",
                        community=community,
                        subdistrict_id=community.subdistrict_id,
                        district_id=district.pk,
                    )
                )
    Compound.objects.bulk_create(new_k)
    compound_objs = {k.code: k for k in Compound.objects.filter(code__startswith=PREFIX)}
    have_b = set(
        Building.objects.filter(compound__code__startswith=PREFIX).values_list(
            "compound_id", "number"
        )
    )
    new_b = []
    for compound in compound_objs.values():
        for b in range(1, buildings + 1):
            if (compound.pk, str(b)) not in have_b:
                new_b.append(
                    Building(
                        compound=compound,
                        number=str(b),
                        name=f"{b}号楼",
                        unit_count=UNITS,
                        floor_count=FLOORS,
                    )
                )
    Building.objects.bulk_create(new_b, batch_size=2000)
    benchdb.analyze(District, Subdistrict, Community, Compound, Building)
    numbers = {}
    for bid, cid, number in Building.objects.filter(compound__code__startswith=PREFIX).values_list(
        "id", "compound_id", "number"
    ):
        numbers[(cid, number)] = bid
    layout = []
    for c in range(1, communities + 1):
        for k in range(1, compounds + 1):
            compound = compound_objs[f"{PREFIX}C{c:03d}-K{k}"]
            layout.append(
                (compound, [numbers[(compound.pk, str(b))] for b in range(1, buildings + 1)])
            )
    return layout


def math_ceil(a: int, b: int) -> int:
    return -(-a // b)


def wipe() -> None:
    from django.db import connection

    from residents.models import Household, Resident, VulnerableTag

    ids = list(seeded_communities().values_list("id", flat=True))
    if not ids:
        return
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
            f"(SELECT id FROM compounds_compound WHERE community_id = ANY(%s))",
            [ids],
        )


def reserve_ids(table: str, n: int) -> int:
    """Take n ids from the table's identity sequence; return the first."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        seq = cur.fetchone()[0]
        cur.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [seq, seq, n])
        last = cur.fetchone()[0]
    return last - n + 1


def copy_rows(model, columns: list[str], rows) -> None:
    """COPY rows (tuples in `columns` order) through wuyi.lib.pgcopy, which fills every other
    column with the field's default, as the import does."""
    from django.db import connection

    from wuyi.lib import pgcopy

    writer = pgcopy.CopyWriter(model, columns)
    with connection.cursor() as cur:
        writer.send(cur.cursor, writer.csv(rows))


def seed(n: int, layout: list, *, dummy_cipher: bool, id_offset: int = 0) -> dict:
    """`id_offset`: the first ID number's index, so that two seeds in one database (the
    register's and bench/city.py's) never share an ID number."""
    from django.db import connection, transaction
    from django.utils import timezone

    from residents.models import Household, Resident, VulnerableTag
    from wuyi.lib import pii

    rng = random.Random(19491001)
    now = timezone.now().isoformat()
    buildings = [(compound, bid) for compound, bids in layout for bid in bids]
    per_building = [n // len(buildings)] * len(buildings)
    for j in range(n % len(buildings)):
        per_building[j] += 1
    household_count = sum(min(HOUSEHOLDS_PER_BUILDING, r) for r in per_building if r)
    cipher = pii.encrypt(national_id(0)) if dummy_cipher else None
    timings = {"python": 0.0, "copy": 0.0}

    tables = [Household._meta.db_table, Resident._meta.db_table]
    with transaction.atomic():
        # Bulk-load habit: drop the indexes that back no constraint, COPY, build them again.
        # DDL is transactional in PostgreSQL: if the seed fails, the indexes come back.
        started = time.perf_counter()
        definitions = drop_secondary_indexes(tables)
        timings["drop_indexes"] = time.perf_counter() - started
        first_household = reserve_ids(Household._meta.db_table, household_count)
        first_resident = reserve_ids(Resident._meta.db_table, n)
        hh_rows, res_rows, tag_rows = [], [], []
        hh_id = first_household
        i = 0
        today = timezone.localdate()
        for (compound, building_id), count in zip(buildings, per_building, strict=True):
            started = time.perf_counter()
            ids = []
            for h in range(min(HOUSEHOLDS_PER_BUILDING, count)):
                unit = h // (FLOORS * ROOMS_PER_FLOOR) + 1
                floor = h % (FLOORS * ROOMS_PER_FLOOR) // ROOMS_PER_FLOOR + 1
                room = f"{floor}{h % ROOMS_PER_FLOOR + 1:02d}"
                hh_rows.append((hh_id, compound.pk, building_id, str(unit), room, ""))
                ids.append(hh_id)
                hh_id += 1
            for j in range(count):
                nid = national_id(i + id_offset)
                born = datetime.date(int(nid[6:10]), int(nid[10:12]), int(nid[12:14]))
                female = int(nid[16]) % 2 == 0
                roll = rng.random()
                phone = "" if roll < 0.06 else benchdata.random_mobile(rng)
                rid = first_resident + i
                res_rows.append(
                    (
                        rid,
                        ids[j % len(ids)],
                        compound.pk,
                        compound.community_id,
                        benchdata.random_name(rng),
                        "F" if female else "M",
                        born.isoformat(),
                        phone,
                        cipher or pii.encrypt(nid),
                        pii.keyed_hash(nid),
                        nid[-4:],
                        "户主" if j < len(ids) else rng.choice(benchdata.RELATIONS_AFTER_HEAD),
                        rng.choice(benchdata.NOTES),
                        now,
                        now,
                    )
                )
                age = (today - born).days // 365
                categories = benchdata.categories_for(rng, age, female)
                for word in filter(None, categories.split("、")):
                    tag_rows.append((rid, _CATEGORY[word], "", "", "", now))
                i += 1
            timings["python"] += time.perf_counter() - started
            if len(res_rows) >= CHUNK:
                timings["copy"] += _flush(hh_rows, res_rows, tag_rows)
                hh_rows, res_rows, tag_rows = [], [], []
                print(f"  {i:,} residents", flush=True)
        timings["copy"] += _flush(hh_rows, res_rows, tag_rows)
        # The checks below are planned with the tables' statistics: count the new rows first.
        benchdb.analyze(Household, Resident, VulnerableTag)
        started = time.perf_counter()
        with connection.cursor() as cur:
            # CREATE INDEX refuses to run with deferred foreign-key checks pending: run them.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        timings["fk_checks"] = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in definitions:
                cur.execute(definition)
        timings["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
    timings["commit"] = time.perf_counter() - started
    return {
        **timings,
        "households": household_count,
        "first_resident": first_resident,
        "index_count": len(definitions),
    }


def drop_secondary_indexes(tables: list[str]) -> list[str]:
    """Drop the tables' indexes that back no constraint; return their CREATE statements."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT i.indexname, i.indexdef
            FROM pg_indexes i
            JOIN pg_class ic ON ic.relname = i.indexname
            JOIN pg_namespace ns ON ns.oid = ic.relnamespace AND ns.nspname = i.schemaname
            WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ic.oid)
            """,
            [tables],
        )
        found = cur.fetchall()
        for name, _definition in found:
            cur.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


_CATEGORY = {
    "独居老人": "elderly_alone",
    "老人": "elderly",
    "慢性病": "chronic",
    "透析": "chronic",
    "长期卧床": "bedridden",
    "婴幼儿": "infant",
    "孕产妇": "pregnant",
    "残疾人": "disabled",
}


def _flush(hh_rows, res_rows, tag_rows) -> float:
    from residents.models import Household, Resident, VulnerableTag

    started = time.perf_counter()
    copy_rows(
        Household,
        ["id", "compound_id", "building_id", "unit", "room", "notes"],
        hh_rows,
    )
    copy_rows(
        Resident,
        [
            "id",
            "household_id",
            "compound_id",
            "community_id",
            "name",
            "gender",
            "birth_date",
            "phone",
            "id_cipher",
            "id_hash",
            "id_last4",
            "relation",
            "notes",
            "created_at",
            "updated_at",
        ],
        res_rows,
    )
    # "透析" and "慢性病" both map to chronic: keep one tag per (resident, category).
    unique = list(dict.fromkeys(tag_rows))
    copy_rows(
        VulnerableTag,
        ["resident_id", "category", "details", "treatment", "schedule", "created_at"],
        unique,
    )
    return time.perf_counter() - started


def vacuum_analyze() -> None:
    from django.db import connection

    from residents.models import Household, Resident, VulnerableTag

    with connection.cursor() as cur:
        for model in (Household, Resident, VulnerableTag):
            cur.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        # The place tables too: bulk_create leaves them without statistics, and autovacuum may
        # be off (it is on the bench machines), so the planner would think they are empty.
        cur.execute("ANALYZE")


def baseline_bulk_create(rows: int, layout: list) -> float:
    """Seconds for Django bulk_create of `rows` residents (real encryption), rolled back."""
    from django.db import transaction
    from django.utils import timezone

    from residents.models import Household, Resident

    class Rollback(Exception):
        pass

    rng = random.Random(7)
    compound, bids = layout[0]
    now = timezone.now()
    started = time.perf_counter()
    try:
        with transaction.atomic():
            households = Household.objects.bulk_create(
                [
                    Household(compound=compound, building_id=bids[0], unit="9", room=f"B{h}")
                    for h in range(max(1, rows // 3))
                ],
                batch_size=2000,
            )
            residents = []
            for i in range(rows):
                r = Resident(
                    household_id=households[i % len(households)].pk,
                    compound_id=compound.pk,
                    community_id=compound.community_id,
                    name=benchdata.random_name(rng),
                    gender="M",
                    phone=benchdata.random_mobile(rng),
                    created_at=now,
                    updated_at=now,
                )
                r.set_national_id(national_id(_ID_SPACE - 1 - i))
                residents.append(r)
            Resident.objects.bulk_create(residents, batch_size=2000)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed


def ensure_seed(
    n: int = 1_000_000,
    *,
    communities: int = 50,
    compounds: int = 4,
    buildings: int = 20,
    dummy_cipher: bool = False,
    baseline_rows: int = 0,
    force: bool = False,
) -> dict:
    """Seed unless already seeded to n. Assumes benchdb.setup() has run."""
    have = seeded_count()
    if have == n and not force:
        print(f"already seeded: {n:,} residents in {PREFIX}* communities; nothing to do")
        return {"skipped": True}
    started = time.perf_counter()
    layout = ensure_places(communities, compounds, buildings)
    t_wipe = time.perf_counter()
    if have:
        print(f"found {have:,} seeded residents: deleting them", flush=True)
        wipe()
    t_wipe = time.perf_counter() - t_wipe
    started = time.perf_counter()
    print(
        f"seeding {n:,} residents into {communities} communities x {compounds} compounds x "
        f"{buildings} buildings; id_cipher: "
        + (
            "ONE real Fernet token repeated (--dummy-cipher)"
            if dummy_cipher
            else "real Fernet (wuyi.lib.pii.encrypt) per resident"
        ),
        flush=True,
    )
    info = seed(n, layout, dummy_cipher=dummy_cipher)
    t_vacuum = time.perf_counter()
    vacuum_analyze()
    t_vacuum = time.perf_counter() - t_vacuum
    total = time.perf_counter() - started
    print(
        f"seeded {n:,} residents, {info['households']:,} households in {total:.1f} s "
        f"({n / total:,.0f} residents/s) after deleting the old seed in {t_wipe:.1f} s: "
        f"building rows (hash, encrypt) {info['python']:.1f} s, COPY {info['copy']:.1f} s "
        f"({n / info['copy']:,.0f} residents/s), rebuilding {info['index_count']} indexes "
        f"{info['indexes']:.1f} s, foreign-key checks {info['fk_checks']:.1f} s, commit "
        f"{info['commit']:.1f} s, "
        f"VACUUM ANALYZE {t_vacuum:.1f} s",
        flush=True,
    )
    if baseline_rows:
        base = baseline_bulk_create(baseline_rows, layout)
        copy_rate = n / total
        print(
            f"baseline: Django bulk_create of {baseline_rows:,} residents (rolled back) "
            f"{base:.1f} s = {baseline_rows / base:,.0f} residents/s; the seed end to end is "
            f"{copy_rate / (baseline_rows / base):.1f}x that",
            flush=True,
        )
    return {"skipped": False, **info, "seconds": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--communities", type=int, default=50)
    parser.add_argument("--compounds", type=int, default=4, help="per community")
    parser.add_argument("--buildings", type=int, default=20, help="per compound")
    parser.add_argument("--dummy-cipher", action="store_true")
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--force", action="store_true", help="seed again even if seeded")
    parser.add_argument("--smoke", action="store_true", help="a small register, for CI")
    args = parser.parse_args()
    db = benchdb.setup(smoke=args.smoke)
    print(f"database: {db}", flush=True)
    size = (
        dict(SMOKE)
        if args.smoke
        else {
            "n": args.residents,
            "communities": args.communities,
            "compounds": args.compounds,
            "buildings": args.buildings,
        }
    )
    result = ensure_seed(
        size.pop("n"),
        **size,
        dummy_cipher=args.dummy_cipher,
        baseline_rows=2000 if args.smoke else args.baseline_rows,
        force=args.force,
    )
    print(f"seed_residents: {'already seeded' if result['skipped'] else 'seeded'}")


if __name__ == "__main__":
    main()
