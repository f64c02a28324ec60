"""Resident import: the fast path against a plain django-import-export ModelResource.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench \
        .venv/bin/python bench/import_residents.py [--rows 100000] [--baseline-rows 10000] \
        [--repeat 3]

1. Generates (once, cached under bench/var/) an xlsx in the committees' format: a merged title
   row, the header of tests/residents/helpers.py, unique valid ID numbers, Chinese names,
   phones, building/unit/room and some vulnerable categories.
2. Sets up one district > sub-district > community > compound with enough buildings (codes
   prefixed BENCH).
3. Fast path: residents.services.resident_import() on every row, in a fresh subprocess so that
   its peak RSS (VmHWM, benchdb.peak_rss_kb) is its own. Wall time covers the whole call:
   reading the xlsx, checking every cell, planning, writing (households, residents, tags,
   history) and COMMIT (where PostgreSQL runs the deferred foreign-key checks). --repeat runs,
   each after deleting the previous one's rows (no VACUUM: the tables keep what an earlier
   import left); every run is printed and the median is the figure.
4. Floor: the same xlsx read with calamine, each row's ID number encrypted (Fernet) and hashed
   (HMAC) as the import does, the resident columns COPYed into the resident table, committed:
   no cell checks, no plan, no households, tags or history.
5. Baseline: a plain ModelResource with default settings, import_data() on the first
   --baseline-rows rows, given to it as a ready tablib Dataset with households pre-created (it
   neither parses the xlsx nor creates households, so the comparison favours the baseline).

Before each measured run the bench community's residents, households, tags and their history
rows are deleted. Targets (on the median run): >= 5,000 rows/s end to end, >= 10x the baseline,
>= 0.6x the floor, peak RSS < 400 MB; and no run slower than 1.5x the first.

--smoke: 2,000 rows, a baseline of 200, two fast runs, one floor, in the smoke database; every
row must be imported and the memory target is judged, the speed targets are not.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdata
import benchdb

ROOMS_PER_BUILDING = 3 * 18 * 2  # units 1..3, floors 1..18, rooms x01..x02
FILE_VERSION = 1
RESULT_PREFIX = "BENCH_RESULT "

TARGET_ROWS_PER_S = 5000
TARGET_RATIO = 10
TARGET_PEAK_MB = 400
TARGET_FLOOR_SHARE = 0.6
TARGET_SPREAD = 1.5  # slowest run / first run


# ----------------------------------------------------------------------------- the data


def generate_rows(n: int):
    """Yield n committee rows (as written in the xlsx), households filled in address order."""
    rng = random.Random(20220315)
    today = datetime.date.today()
    used: set[str] = set()
    number = 0
    household = 0
    while number < n:
        building = household // ROOMS_PER_BUILDING + 1
        within = household % ROOMS_PER_BUILDING
        unit = within // 36 + 1
        floor = within % 36 // 2 + 1
        room = f"{floor}{within % 2 + 1:02d}"
        household += 1
        size = rng.choice((1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5))
        for member in range(size):
            if number >= n:
                break
            number += 1
            age = rng.randint(28, 88) if member == 0 else rng.randint(0, 90)
            female = rng.random() < 0.5
            while True:
                born = today - datetime.timedelta(days=age * 365 + rng.randrange(365))
                national_id = benchdata.make_id(
                    rng.choice(benchdata.IMPORT_AREAS), born, rng.randrange(500), female
                )
                if national_id not in used:
                    used.add(national_id)
                    break
            roll = rng.random()
            if roll < 0.08:
                phone = ""
            elif roll < 0.13:
                phone = f"0931-{rng.randint(2, 8)}{rng.randrange(10**6):06d}"
            else:
                phone = benchdata.random_mobile(rng)
            relation = "户主" if member == 0 else rng.choice(benchdata.RELATIONS_AFTER_HEAD)
            yield [
                number,
                benchdata.random_name(rng),
                "女" if female else "男",
                national_id,
                phone,
                building,
                unit,
                room,
                relation,
                benchdata.categories_for(rng, age, female),
                rng.choice(benchdata.NOTES),
            ]


def ensure_file(n: int) -> tuple[Path, int]:
    """The cached xlsx for n rows and the number of buildings it uses."""
    from tests.residents.helpers import HEADER

    benchdb.VAR.mkdir(parents=True, exist_ok=True)
    path = benchdb.VAR / f"residents_{n}_v{FILE_VERSION}.xlsx"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        print(f"using cached {path.relative_to(benchdb.ROOT)} ({n:,} rows)", flush=True)
        return path, meta["buildings"]

    import openpyxl

    started = time.perf_counter()
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("居民登记表")
    sheet.append(["基准社区居民登记表（2022年4月）"])
    sheet.merged_cells.add(f"A1:{openpyxl.utils.get_column_letter(len(HEADER))}1")
    sheet.append(HEADER)
    buildings = 0
    for row in generate_rows(n):
        buildings = max(buildings, row[5])
        sheet.append(row)
    tmp = path.with_suffix(".tmp.xlsx")
    workbook.save(tmp)
    tmp.replace(path)
    meta_path.write_text(json.dumps({"rows": n, "buildings": buildings}))
    print(
        f"generated {path.relative_to(benchdb.ROOT)}: {n:,} rows, {buildings} buildings, "
        f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return path, buildings


# ----------------------------------------------------------------------------- places


def ensure_places(buildings: int):
    from compounds.models import Building, Community, Compound, District, Subdistrict

    district, _ = District.objects.get_or_create(code="BENCH-D", defaults={"name": "基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCH-S", defaults={"name": "基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code="BENCH-C", defaults={"name": "基准社区", "subdistrict": sub}
    )
    compound, _ = Compound.objects.get_or_create(
        code="BENCH-K", defaults={"name": "基准小区", "community": community}
    )
    have = set(Building.objects.filter(compound=compound).values_list("number", flat=True))
    missing = [
        Building(compound=compound, number=str(i), name=f"{i}号楼", unit_count=3, floor_count=18)
        for i in range(1, buildings + 1)
        if str(i) not in have
    ]
    Building.objects.bulk_create(missing, batch_size=1000)
    if missing:
        benchdb.analyze(Building)
    return community, compound


def clean_community(community) -> None:
    """Delete the community's residents, households, tags and their history rows (raw SQL:
    Django's delete() would load every row and write a history row for each)."""
    from django.db import connection

    from residents.models import Household, Resident, VulnerableTag

    t = {
        "res": Resident._meta.db_table,
        "hres": Resident.history.model._meta.db_table,
        "hh": Household._meta.db_table,
        "hhh": Household.history.model._meta.db_table,
        "tag": VulnerableTag._meta.db_table,
        "htag": VulnerableTag.history.model._meta.db_table,
    }
    compound_ids = list(community.compounds.values_list("id", flat=True))
    analyze()  # fresh statistics, or the planner may nest-loop over "empty" tables
    households = (
        f"(SELECT id FROM {t['hh']} WHERE compound_id = ANY(%(c)s) "
        f"UNION SELECT id FROM {t['hhh']} WHERE compound_id = ANY(%(c)s))"
    )
    residents = (
        f"(SELECT id FROM {t['res']} WHERE community_id = %(k)s "
        f"UNION SELECT id FROM {t['hres']} WHERE household_id IN {households})"
    )
    statements = [
        f"DELETE FROM {t['htag']} WHERE resident_id IN {residents}",
        f"DELETE FROM {t['tag']} WHERE resident_id IN {residents}",
        f"DELETE FROM {t['hres']} WHERE household_id IN {households}",
        f"DELETE FROM {t['res']} WHERE community_id = %(k)s",
        f"DELETE FROM {t['hhh']} WHERE compound_id = ANY(%(c)s)",
        f"DELETE FROM {t['hh']} WHERE compound_id = ANY(%(c)s)",
    ]
    with connection.cursor() as cur:
        for statement in statements:
            cur.execute(statement, {"c": compound_ids, "k": community.pk})
    analyze()


def analyze() -> None:
    from django.db import connection

    from residents.models import Household, Resident, VulnerableTag

    with connection.cursor() as cur:
        for model in (Resident, Household, VulnerableTag):
            cur.execute(f"ANALYZE {model._meta.db_table}")
            cur.execute(f"ANALYZE {model.history.model._meta.db_table}")


def counts(community) -> dict:
    from residents.models import Household, Resident, VulnerableTag

    analyze()
    households = Household.objects.filter(compound__community=community).values("id")
    return {
        "residents": Resident.objects.filter(community=community).count(),
        "households": Household.objects.filter(compound__community=community).count(),
        "tags": VulnerableTag.objects.filter(resident__community=community).count(),
        "resident_history": Resident.history.filter(household_id__in=households).count(),
    }


# ----------------------------------------------------------------------------- fast path


def phase_fast(args) -> None:
    """Child process: run resident_import once and print one JSON line."""
    benchdb.setup(migrate=False)
    rss_before = benchdb.peak_rss_kb()

    from residents import services
    from wuyi.lib import spreadsheets

    # Time the stages by wrapping the functions resident_import calls (no other change).
    stages: dict[str, float] = {}

    def timed(name, func):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    spreadsheets.read_rows = timed("read_xlsx", spreadsheets.read_rows)
    services.parse_rows = timed("parse_rows", services.parse_rows)
    services.plan_import = timed("plan", services.plan_import)
    services.write_plan = timed("write", services.write_plan)

    started = time.perf_counter()
    report = services.resident_import(
        path=args.file,
        community_id=args.community_id,
        compound_id=args.compound_id,
        by=None,
        dry_run=False,
    )
    elapsed = time.perf_counter() - started
    peak = benchdb.peak_rss_kb()
    result = {
        "seconds": elapsed,
        "peak_rss_kb": peak,
        "rss_before_kb": rss_before,
        "stages": stages,
        "report": {k: v for k, v in report.items() if k != "errors"},
        "first_errors": report.get("errors", [])[:5],
    }
    print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False), flush=True)


def run_fast(path: Path, community, compound) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        "fast",
        "--file",
        str(path),
        "--community-id",
        str(community.pk),
        "--compound-id",
        str(compound.pk),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=benchdb.ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
    sys.exit(f"the fast-path subprocess failed (exit {proc.returncode})")


# ----------------------------------------------------------------------------- floor


def run_floor(path: Path, rows: int, community, compound) -> dict:
    """Read the xlsx with calamine, encrypt (Fernet) and hash (HMAC) each ID number as the
    import does, COPY the resident columns the import writes into the resident table itself
    (its indexes, its unique ID hash, its foreign keys to one household), commit. What an
    import cannot do without; no cell checks, no households, tags or history, no plan."""
    from django.db import connection, transaction
    from python_calamine import CalamineWorkbook

    from residents.models import Household, Resident
    from wuyi.lib import pgcopy, pii

    clean_community(community)
    household = Household.objects.create(
        compound=compound, building=compound.buildings.order_by("id").first(), room="floor"
    )
    columns = (
        "id",
        "household_id",
        "name",
        "gender",
        "birth_date",
        "phone",
        "id_cipher",
        "id_hash",
        "id_last4",
        "relation",
        "notes",
    )
    now = datetime.datetime.now(datetime.UTC)
    writer = pgcopy.CopyWriter(
        Resident,
        columns,
        constants={
            "compound_id": compound.pk,
            "community_id": community.pk,
            "created_at": now,
            "updated_at": now,
        },
    )
    encrypt, keyed_hash = pii.encrypt, pii.keyed_hash
    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    data = sheet.to_python(skip_empty_area=False)[2:]
    with transaction.atomic(), connection.cursor() as cur:
        ids = pgcopy.reserve_ids(Resident, len(data))
        for start in range(0, len(data), pgcopy.CHUNK):
            chunk = []
            for rid, row in zip(ids[start:], data[start : start + pgcopy.CHUNK], strict=False):
                nid = str(row[3])
                born = datetime.date(int(nid[6:10]), int(nid[10:12]), int(nid[12:14]))
                chunk.append(
                    (
                        rid,
                        household.pk,
                        str(row[1]),
                        "F" if row[2] == "女" else "M",
                        born,
                        str(row[4]),
                        encrypt(nid),
                        keyed_hash(nid),
                        nid[-4:],
                        str(row[8]),
                        str(row[10]),
                    )
                )
            writer.send(cur.cursor, writer.csv(chunk))
        # As the import does before its COMMIT: the foreign keys are checked then, planned
        # with statistics that clean_community() left saying both tables are empty (their
        # pages full of dead rows). Without it this COMMIT took minutes on a used database.
        benchdb.analyze(Household, Resident)
    seconds = time.perf_counter() - started
    clean_community(community)
    if len(data) != rows:
        sys.exit(f"the floor read {len(data):,} rows, expected {rows:,}")
    return {"seconds": seconds, "rows": len(data)}


# ----------------------------------------------------------------------------- baseline


def run_baseline(n: int, community, compound) -> dict:
    import tablib
    from import_export import resources

    from compounds.models import Building
    from residents.models import Household, Resident
    from wuyi.lib import cn

    class PlainResidentResource(resources.ModelResource):
        class Meta:
            model = Resident
            fields = ("id", "household", "name", "gender", "birth_date", "phone", "relation")
            fields += ("notes",)

    buildings = dict(Building.objects.filter(compound=compound).values_list("number", "id"))
    rows = list(generate_rows(n))
    households: dict[tuple[int, str, str], Household] = {}
    for row in rows:
        key = (buildings[str(row[5])], str(row[6]), str(row[7]))
        if key not in households:
            households[key] = Household(
                compound=compound, building_id=key[0], unit=key[1], room=key[2]
            )
    Household.objects.bulk_create(list(households.values()), batch_size=2000)
    benchdb.analyze(Household)  # the set-up's households, before the rows point at them

    dataset = tablib.Dataset(
        headers=["household", "name", "gender", "birth_date", "phone", "relation", "notes"]
    )
    for row in rows:
        key = (buildings[str(row[5])], str(row[6]), str(row[7]))
        national_id = row[3]
        dataset.append(
            [
                households[key].pk,
                row[1],
                "F" if row[2] == "女" else "M",
                cn.birth_date_from_id(national_id).isoformat(),
                row[4],
                row[8],
                row[10],
            ]
        )

    resource_ = PlainResidentResource()
    started = time.perf_counter()
    result = resource_.import_data(dataset, dry_run=False)
    elapsed = time.perf_counter() - started
    if result.has_errors() or result.has_validation_errors():
        first = (result.row_errors() or [(None, ["?"])])[0]
        sys.exit(f"baseline import failed: {first}")
    imported = Resident.objects.filter(community=community).count()
    return {"seconds": elapsed, "rows": n, "imported": imported}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="fast-path runs (median is kept)")
    parser.add_argument("--phase", choices=["main", "fast"], default="main")
    parser.add_argument("--file")
    parser.add_argument("--community-id", type=int)
    parser.add_argument("--compound-id", type=int)
    parser.add_argument("--smoke", action="store_true", help="a small import, for CI")
    args = parser.parse_args()
    if args.phase == "fast":
        phase_fast(args)
        return
    if args.smoke:
        args.rows, args.baseline_rows, args.repeat = 2000, 200, 2

    db = benchdb.setup(smoke=args.smoke)
    print(f"database: {db}", flush=True)
    path, buildings = ensure_file(args.rows)
    community, compound = ensure_places(buildings)

    fast_runs = []
    for attempt in range(1, args.repeat + 1):
        clean_community(community)
        result = run_fast(path, community, compound)
        report = result["report"]
        if not report.get("committed") or report.get("new") != args.rows:
            print(json.dumps(result, ensure_ascii=False, indent=1))
            sys.exit("the fast path did not import every row; see the report above")
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in result["stages"].items())
        other = result["seconds"] - sum(result["stages"].values())
        stages += f", other (COMMIT: deferred FK checks) {other:.1f} s"
        print(
            f"fast run {attempt}: {args.rows:,} rows in {result['seconds']:.1f} s "
            f"({args.rows / result['seconds']:,.0f} rows/s), peak RSS "
            f"{result['peak_rss_kb'] / 1024:.0f} MB (after django.setup: "
            f"{result['rss_before_kb'] / 1024:.0f} MB); {stages}",
            flush=True,
        )
        written = counts(community)
        print(
            f"  written: {written['residents']:,} residents, {written['households']:,} "
            f"households, {written['tags']:,} tags, {written['resident_history']:,} "
            f"resident history rows",
            flush=True,
        )
        fast_runs.append(result)
    seconds = [r["seconds"] for r in fast_runs]
    fast_median = statistics.median(seconds)
    spread = max(seconds) / seconds[0]

    floors = [
        run_floor(path, args.rows, community, compound) for _ in range(1 if args.smoke else 3)
    ]
    floor_seconds = statistics.median(f["seconds"] for f in floors)
    print(
        "floor (calamine + Fernet/HMAC + COPY into the resident table, no checks): "
        + ", ".join(f"{f['seconds']:.1f} s" for f in floors)
        + f"; median {args.rows / floor_seconds:,.0f} rows/s",
        flush=True,
    )

    clean_community(community)
    base = run_baseline(args.baseline_rows, community, compound)
    print(
        f"baseline (plain ModelResource, defaults): {base['rows']:,} rows in "
        f"{base['seconds']:.1f} s ({base['rows'] / base['seconds']:,.0f} rows/s), "
        f"{base['imported']:,} residents written",
        flush=True,
    )
    clean_community(community)

    fast_rate = args.rows / fast_median
    floor_rate = args.rows / floor_seconds
    base_rate = base["rows"] / base["seconds"]
    ratio = fast_rate / base_rate
    floor_share = fast_rate / floor_rate
    peak_mb = max(r["peak_rss_kb"] for r in fast_runs) / 1024
    ok = {
        "rate": fast_rate >= TARGET_ROWS_PER_S,
        "ratio": ratio >= TARGET_RATIO,
        "floor": floor_share >= TARGET_FLOOR_SHARE,
        "spread": spread <= TARGET_SPREAD,
        "memory": peak_mb < TARGET_PEAK_MB,
    }

    def mark(flag: bool) -> str:
        return "MET" if flag else "NOT MET"

    print()
    print("resident import (xlsx, PostgreSQL)")
    runs = ", ".join(f"{s:.1f}" for s in seconds)
    print(
        f"  fast path  {fast_rate:>10,.0f} rows/s   ({args.rows:,} rows, median of "
        f"{len(seconds)} runs {fast_median:.1f} s; runs {runs} s)"
    )
    print(
        f"  floor      {floor_rate:>10,.0f} rows/s   (calamine + Fernet/HMAC + COPY, no checks, "
        f"{floor_seconds:.1f} s)"
    )
    print(
        f"  baseline   {base_rate:>10,.0f} rows/s   ({base['rows']:,} rows, "
        f"{base['seconds']:.1f} s, plain ModelResource)"
    )
    print(f"  ratio      {ratio:>10.1f} x baseline, {floor_share:.2f} x floor")
    print(f"  spread     {spread:>10.2f} x (slowest run / first run)")
    print(f"  peak RSS   {peak_mb:>10.0f} MB (fast path, its own process, worst run)")
    print(f"  target >= {TARGET_ROWS_PER_S:,} rows/s end to end: {mark(ok['rate'])}")
    print(f"  target >= {TARGET_RATIO}x baseline: {mark(ok['ratio'])}")
    print(f"  target >= {TARGET_FLOOR_SHARE}x floor: {mark(ok['floor'])}")
    print(f"  target slowest run <= {TARGET_SPREAD}x the first: {mark(ok['spread'])}")
    print(f"  target peak < {TARGET_PEAK_MB} MB: {mark(ok['memory'])}")
    speed = {"rate", "ratio", "floor", "spread"}
    print(
        f"import: {fast_rate:,.0f} rows/s, {ratio:.1f} x baseline, {floor_share:.2f} x floor, "
        f"spread {spread:.2f}, peak {peak_mb:.0f} MB: "
        f"{benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
