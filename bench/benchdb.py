"""Shared set-up for the bench scripts: the bench database guard, creating it, migrating it.

Every bench runs against a PostgreSQL database whose name contains "bench" and refuses anything
else, so that a DATABASE_URL left pointing at a real register is never touched. With no
DATABASE_URL at all the benches use postgres://postgres@127.0.0.1:5432/wuyi_bench.

DEBUG is switched off (unless DJANGO_DEBUG says otherwise) so that Django does not keep the SQL
of every query in memory, as in production; it would inflate the import's peak memory.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
VAR = BENCH_DIR / "var"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wuyi_bench"


def _guard() -> dict:
    """Parse DATABASE_URL and refuse anything but a PostgreSQL database named *bench*."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    os.environ["DATABASE_URL"] = url
    config = dj_database_url.parse(url)
    name = str(config.get("NAME") or "")
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


def setup(*, migrate: bool = True) -> str:
    """Guard, create and migrate the bench database, then set Django up. Returns the db name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    # DEBUG off needs a personal-data key: the one the embedded default derives its keys from,
    # so that a register seeded before this line existed still decrypts.
    os.environ.setdefault(
        "WUYI_PII_KEY", "django-insecure-wuyi-embedded-default-do-not-use-in-production"
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    config = _guard()
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


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]
