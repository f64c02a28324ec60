"""Resident export: peak memory of the streamed xlsx export against an in-memory baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench \
        .venv/bin/python bench/export_residents.py [--rows 100000]

Uses the register of bench/seed_residents.py (seeded first if needed). A user posted to enough
seeded communities to hold --rows residents exports them all, masked, in a fresh subprocess so
that its peak RSS (VmHWM, benchdb.peak_rss_kb) is its own:

- streamed: residents.services.residents_export_xlsx into a temporary file, as the export page
  does (rows read from the database in chunks, written by openpyxl's write-only workbook);
- baseline: the same rows read into a list first and written by a normal openpyxl workbook
  saved into memory (what an export that does not stream costs).

Target: the streamed export's peak RSS < 150 MB. Exits 1 when missed.

--residents N: the register to seed (1,000,000; take the size search_residents.py used, or the
register is seeded again). --smoke: 2,000 rows of the register of seed_residents.py --smoke, in
the smoke database; the memory target is judged as at full size, and every row must be written.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

TARGET_PEAK_MB = 150
RESULT_PREFIX = "BENCH_RESULT "


def exporter(communities: int):
    import seed_residents

    from accounts.models import Role, User
    from compounds.models import Posting
    from compounds.services import posting_add

    user, _ = User.objects.get_or_create(username="bench_exporter")
    user.role, user.is_active, user.is_superuser = Role.SECRETARY, True, False
    user.save()
    Posting.objects.filter(user=user).delete()
    for community in seed_residents.seeded_communities().order_by("code")[:communities]:
        posting_add(user=user, place=community)
    return User.objects.get(pk=user.pk)


def phase(args) -> None:
    """Child process: export once, print one JSON line."""
    benchdb.setup(migrate=False)
    from residents import selectors, services

    user = exporter(args.communities)
    residents = selectors.resident_search(user=user)
    started = time.perf_counter()
    if args.phase == "streamed":
        with tempfile.TemporaryFile() as spool:
            count = services.residents_export_xlsx(
                by=user, residents=residents, full=False, filters={}, fh=spool
            )
            size = spool.tell()
    else:
        from openpyxl import Workbook

        rows = [
            [
                r.compound.name,
                r.household.address,
                r.name,
                r.get_gender_display(),
                r.age,
                r.masked_national_id,
                r.masked_phone,
                r.relation,
                "、".join(str(t.get_category_display()) for t in r.tags.all()),
                r.notes,
            ]
            for r in residents
        ]
        workbook = Workbook()
        sheet = workbook.active
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        count, size = len(rows), buffer.tell()
    elapsed = time.perf_counter() - started
    peak = benchdb.peak_rss_kb()
    print(
        RESULT_PREFIX
        + json.dumps({"seconds": elapsed, "rows": count, "bytes": size, "peak_kb": peak}),
        flush=True,
    )


def run(phase_name: str, communities: int, *, smoke: bool) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase_name, "--communities", str(communities)]
    cmd += ["--smoke"] if smoke else []  # the child must read the same (smoke) database
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=benchdb.ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
    sys.exit(f"the {phase_name} export failed (exit {proc.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--phase", choices=["main", "streamed", "baseline"], default="main")
    parser.add_argument("--communities", type=int, default=0)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="a small export, for CI")
    args = parser.parse_args()
    if args.phase != "main":
        phase(args)
        return

    print(f"database: {benchdb.setup(smoke=args.smoke)}", flush=True)
    import seed_residents

    if args.smoke:
        size = dict(seed_residents.SMOKE)
        residents = size.pop("n")
        seed_residents.ensure_seed(residents, **size)
        args.rows = 2000
    else:
        residents = args.residents
        seed_residents.ensure_seed(residents)
    per_community = residents // seed_residents.seeded_communities().count()
    communities = max(1, -(-args.rows // per_community))
    streamed = run("streamed", communities, smoke=args.smoke)
    baseline = run("baseline", communities, smoke=args.smoke)
    ours_mb, base_mb = streamed["peak_kb"] / 1024, baseline["peak_kb"] / 1024
    ok = {
        "memory": ours_mb < TARGET_PEAK_MB,
        "rows": streamed["rows"] == baseline["rows"] >= args.rows,
    }
    print()
    print(f"resident export, masked xlsx, {streamed['rows']:,} rows")
    print(
        f"  streamed   peak RSS {ours_mb:7.0f} MB   {streamed['seconds']:6.1f} s "
        f"({streamed['rows'] / streamed['seconds']:,.0f} rows/s, {streamed['bytes'] / 1e6:.1f} MB)"
    )
    print(
        f"  in memory  peak RSS {base_mb:7.0f} MB   {baseline['seconds']:6.1f} s "
        f"({baseline['rows'] / baseline['seconds']:,.0f} rows/s)"
    )
    print(f"  ratio      {base_mb / ours_mb:7.1f} x less memory")
    speed: set[str] = set()  # memory is judged at every size
    print(
        f"export: peak {ours_mb:.0f} MB for {streamed['rows']:,} rows, target < "
        f"{TARGET_PEAK_MB} MB: {benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
