"""Shared set-up for the bench scripts: the bench database guard, creating it, migrating it.

Every bench runs against a PostgreSQL database whose name contains "bench" and refuses anything
else, so that a DATABASE_URL left pointing at a real register is never touched. With no
DATABASE_URL at all the benches use postgres://postgres@127.0.0.1:5432/wuyi_bench.

DEBUG is switched off (unless DJANGO_DEBUG says otherwise) so that Django does not keep the SQL
of every query in memory, as in production; it would inflate the import's peak memory.

--smoke (every bench takes it): a small size that runs in seconds, so that CI (make
bench-smoke) notices a bench that no longer runs. It uses its own database, the name with
"_smoke" appended (created and migrated like the other), so that a smoke run never replaces the
large set-ups of a full run. Speed targets are printed but judged only at full size; the rest
(counts, lost or doubled, query counts, refusals) is judged at both.

A set-up that fills tables in bulk leaves them analysed (analyze()): a later bench, or the
COMMIT's deferred foreign-key checks, would otherwise be planned with what the statistics said
before, e.g. 0 rows in residents_resident after another bench emptied it, while 600,000 dead
rows still fill its pages.
"""

import os
import resource
import sys
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
VAR = BENCH_DIR / "var"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wuyi_bench"


SMOKE_SUFFIX = "_smoke"


def smoke_requested() -> bool:
    """True when the bench was started with --smoke."""
    return "--smoke" in sys.argv[1:]


def _guard(smoke: bool = False) -> dict:
    """Parse DATABASE_URL and refuse anything but a PostgreSQL database named *bench*. With
    `smoke`, the database is the smoke one (DATABASE_URL is rewritten, so that the bench's
    subprocesses use it too)."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    config = dj_database_url.parse(url)
    name = str(config.get("NAME") or "")
    if smoke and name and not name.endswith(SMOKE_SUFFIX):
        head, _slash, tail = url.rpartition("/")
        path, sep, query = tail.partition("?")
        url = f"{head}/{path}{SMOKE_SUFFIX}{sep}{query}"
        config = dj_database_url.parse(url)
        name = str(config.get("NAME") or "")
    os.environ["DATABASE_URL"] = url
    if "bench" not in name.lower():
        sys.exit(
            f"refusing to run: the database {name!r} in DATABASE_URL does not contain 'bench'. "
            f"Use e.g. DATABASE_URL={DEFAULT_URL}"
        )
    if "postgresql" not in config["ENGINE"]:
        sys.exit("refusing to run: the benches need PostgreSQL (COPY, the pattern opclasses).")
    return config


def _create_database(config: dict) -> None:
    import psycopg2
    from psycopg2 import sql

    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    conn = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
                print(f"created database {config['NAME']}", flush=True)
    finally:
        conn.close()


def setup(*, migrate: bool = True, smoke: bool | None = None) -> str:
    """Guard, create and migrate the bench database, then set Django up. Returns the db name.
    `smoke` (default: --smoke among the arguments) switches to the smoke database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    # DEBUG off needs a personal-data key: the one the embedded default derives its keys from,
    # so that a register seeded before this line existed still decrypts.
    os.environ.setdefault(
        "WUYI_PII_KEY", "django-insecure-wuyi-embedded-default-do-not-use-in-production"
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    config = _guard(smoke_requested() if smoke is None else smoke)
    if migrate:
        _create_database(config)

    import django

    django.setup()

    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in str(name).lower():  # belt and braces: what Django will actually use
        sys.exit(f"refusing to run: Django's database {name!r} does not contain 'bench'.")
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return str(name)


def peak_rss_kb() -> int:
    """This process's peak RSS in KiB. VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec,
    so a child started by a parent that seeded a register reports the parent's peak (an export
    of 4,000 rows read as 168 MB where its own peak was 122)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def analyze(*models) -> None:
    """ANALYZE the tables of `models` and their history tables, inside the caller's
    transaction (it counts the transaction's own new rows): what a set-up filled by
    bulk_create, before the COMMIT checks its foreign keys and before the next bench reads."""
    from django.db import connection

    from wuyi.lib import pgcopy

    tables = []
    for model in models:
        tables.append(model._meta.db_table)
        history = pgcopy.history_model(model)
        if history is not None:
            tables.append(history._meta.db_table)
    with connection.cursor() as cur:
        for table in dict.fromkeys(tables):
            cur.execute(f'ANALYZE "{table}"')


def verdict(ok: dict[str, bool], *, speed: Collection[str] = (), smoke: bool = False) -> bool:
    """Whether the targets are met: at smoke size the speed targets (`speed`) are not judged."""
    return all(v for k, v in ok.items() if not (smoke and k in speed))


def verdict_text(ok: dict[str, bool], *, speed: Collection[str] = (), smoke: bool = False) -> str:
    """MET, or NOT MET and the targets missed; at smoke size "(smoke: speed not judged)"."""
    missed = [k for k, v in ok.items() if not v and not (smoke and k in speed)]
    text = "MET" if not missed else "NOT MET " + ", ".join(missed)
    if smoke:
        unjudged = [k for k, v in ok.items() if not v and k in speed]
        text += " (smoke size: speed not judged" + (
            f"; {', '.join(unjudged)} would miss)" if unjudged else ")"
        )
    return text
