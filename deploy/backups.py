"""Nightly dump and restore check of the Wuyi database (docs/operations.md, Backups).

    deploy/backup                 # pg_dump -Fc into $WUYI_BACKUP_DIR, with a manifest
    deploy/restore-check          # restore the newest dump into a scratch database, compare

The dump is taken in a snapshot exported from a REPEATABLE READ transaction, and the manifest
(each table's row count and a checksum of its rows) is computed inside that same transaction:
it describes exactly what the dump holds, however busy the database was. The restore check
restores the dump into a scratch database on the same server (`<name>_restore_check`, dropped
and created afresh, dropped again afterwards unless --keep), computes the same figures there
and compares them table by table. Exit 0 when every table matches, 1 otherwise.

The personal-data key (WUYI_PII_KEY) is never in a dump: the ID numbers in it are encrypted, and
the key is kept apart (docs/operations.md). Both read DATABASE_URL (postgres://...).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

MANIFEST_SUFFIX = ".manifest.json"
KEEP_DAYS = int(os.environ.get("WUYI_BACKUP_KEEP_DAYS", "14"))


def _tool(name: str) -> str:
    """The path of a PostgreSQL client program (its major version at least the server's)."""
    found = shutil.which(name)
    if found is None:
        sys.exit(f"backups: {name} not found; install PostgreSQL's client programs")
    return found


def _url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("backups: DATABASE_URL must name a PostgreSQL database (postgres://...)")
    return url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def tables(cur) -> list[str]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [row[0] for row in cur.fetchall()]


def figures(cur) -> dict[str, dict[str, Any]]:
    """{table: {"rows": n, "checksum": md5}} of every table in the public schema. The checksum
    is over each row's text form, sorted, so it does not depend on the physical order."""
    found: dict[str, dict[str, Any]] = {}
    for table in tables(cur):
        cur.execute(
            sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(md5(t::text), '' "
                "ORDER BY md5(t::text))), '') FROM {} AS t"
            ).format(sql.Identifier(table))
        )
        rows, checksum = cur.fetchone()
        found[table] = {"rows": rows, "checksum": checksum}
    return found


def dump(args: argparse.Namespace) -> int:
    url = _url()
    out_dir = Path(args.dir or os.environ.get("WUYI_BACKUP_DIR", "var/backups"))
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = out_dir / f"{_db_name(url)}-{stamp}.dump"
    started = time.monotonic()
    conn = psycopg2.connect(url)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            # While this transaction stays open, pg_dump sees exactly its snapshot.
            subprocess.run(  # noqa: S603 - pg_dump with our own arguments
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-owner",
                    f"--file={target}",
                    f"--dbname={url}",
                ],
                check=True,
            )
            manifest: dict[str, Any] = {
                "database": _db_name(url),
                "taken_at": stamp,
                "tables": figures(cur),
            }
        conn.rollback()
    finally:
        conn.close()
    Path(str(target) + MANIFEST_SUFFIX).write_text(json.dumps(manifest, indent=1))
    removed = _prune(out_dir, _db_name(url))
    rows = sum(int(t["rows"]) for t in manifest["tables"].values())
    print(
        f"backup: {target} ({target.stat().st_size / 1e6:.1f} MB), "
        f"{len(manifest['tables'])} tables, {rows} rows, {time.monotonic() - started:.1f} s; "
        f"{removed} older than {KEEP_DAYS} days removed"
    )
    return 0


def _prune(out_dir: Path, name: str) -> int:
    cutoff = time.time() - KEEP_DAYS * 86400
    removed = 0
    for path in out_dir.glob(f"{name}-*.dump"):
        if path.stat().st_mtime < cutoff:
            path.unlink()
            Path(str(path) + MANIFEST_SUFFIX).unlink(missing_ok=True)
            removed += 1
    return removed


def newest_dump(directory: Path) -> Path | None:
    dumps = sorted(directory.glob("*.dump"), key=lambda p: p.stat().st_mtime)
    return dumps[-1] if dumps else None


def compare(expected: dict, found: dict) -> list[str]:
    """What differs between the manifest's tables and the restored ones, a line per table."""
    problems = []
    for table in sorted(set(expected) | set(found)):
        want, got = expected.get(table), found.get(table)
        if want is None or got is None:
            where = "missing from the restore" if got is None else "not in the manifest"
            problems.append(f"{table}: {where}")
        elif want != got:
            same = "equal" if want["checksum"] == got["checksum"] else "differs"
            problems.append(f"{table}: rows {want['rows']} -> {got['rows']}, checksum {same}")
    return problems


def restore_check(args: argparse.Namespace) -> int:
    url = _url()
    directory = Path(args.dir or os.environ.get("WUYI_BACKUP_DIR", "var/backups"))
    dump_file = Path(args.dump) if args.dump else newest_dump(directory)
    if dump_file is None or not dump_file.exists():
        print(f"restore-check: no dump found in {directory}", file=sys.stderr)
        return 1
    manifest_file = Path(str(dump_file) + MANIFEST_SUFFIX)
    if not manifest_file.exists():
        print(f"restore-check: {manifest_file} is missing", file=sys.stderr)
        return 1
    expected = json.loads(manifest_file.read_text())["tables"]
    scratch = args.scratch or f"{_db_name(url)}_restore_check"
    if scratch == _db_name(url) or "restore" not in scratch:
        sys.exit("restore-check: the scratch database's name must contain 'restore'")
    started = time.monotonic()
    admin = psycopg2.connect(_with_db(url, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        subprocess.run(  # noqa: S603 - pg_restore with our own arguments
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_with_db(url, scratch)}",
                str(dump_file),
            ],
            check=True,
        )
        conn = psycopg2.connect(_with_db(url, scratch))
        try:
            with conn.cursor() as cur:
                found = figures(cur)
        finally:
            conn.close()
    finally:
        if not args.keep:
            with admin.cursor() as cur:
                cur.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(scratch)
                    )
                )
        admin.close()
    problems = compare(expected, found)
    for line in problems:
        print(f"restore-check: MISMATCH {line}")
    rows = sum(int(t["rows"]) for t in found.values())
    print(
        f"restore-check: {dump_file.name}: {len(found)} tables, {rows} rows restored into "
        f"{scratch} in {time.monotonic() - started:.1f} s; "
        + (
            "every table's rows and checksum match"
            if not problems
            else f"{len(problems)} tables differ"
        )
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_dump = sub.add_parser("dump", help="dump the database with its manifest")
    p_dump.add_argument("--dir", help="where dumps go ($WUYI_BACKUP_DIR, var/backups)")
    p_check = sub.add_parser("restore-check", help="restore a dump into a scratch db, compare")
    p_check.add_argument("--dir", help="where dumps are ($WUYI_BACKUP_DIR, var/backups)")
    p_check.add_argument("--dump", help="this dump instead of the newest")
    p_check.add_argument("--scratch", help="the scratch database (<name>_restore_check)")
    p_check.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args(argv)
    return dump(args) if args.command == "dump" else restore_check(args)


if __name__ == "__main__":
    sys.exit(main())
