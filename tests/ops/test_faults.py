"""Faults, with real processes, each recovering without a manual step (docs/operations.md,
Faults and recovery): a web process killed mid-request, Redis restarted, PostgreSQL restarted,
a worker killed mid-import.

Nothing shared is touched: each test starts its own gunicorn, redis-server or PostgreSQL on a
free loopback port and stops what it started, by pid. Waits are bounded (a deadline per wait);
nothing asserts how long anything took. (The import lease's cases one by one: tests/residents/
test_import_lease.py; an SMS batch's worker killed: tests/messaging.)
"""

import contextlib
import glob
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT = 60.0  # seconds any one wait may last before the test gives up


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_until(predicate, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if predicate():
                return
        time.sleep(every)
    pytest.fail(f"gave up waiting: {what}")


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            found |= {int(p) for p in Path(path).read_text().split()}
    return found


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def web_command(app: str, port: int, workers: int, threads: int) -> list[str]:
    """deploy/compose.yaml's web command as it is written, but our app, port and sizes."""
    services = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    command = list(services["web"]["command"])
    command[0] = str(BIN / command[0])
    command[command.index("wuyi.wsgi:application")] = app
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = str(workers)
    command[command.index("--threads") + 1] = str(threads)
    command[command.index("--worker-connections") + 1] = str(threads)
    return command


@contextlib.contextmanager
def gunicorn(
    tmp: Path, *, workers: int, threads: int = 1, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen, int]]:
    """The web command on a free port, with the embedded defaults (SQLite, the filesystem
    broker) under `tmp` unless `env` says otherwise; yields once /healthz answers 200."""
    port = free_port()
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full = {
        **base,
        "DJANGO_SETTINGS_MODULE": "wuyi.settings",
        "WUYI_VAR_DIR": str(tmp),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    command = web_command("tests.ops.slow_wsgi:application", port, workers, threads)
    log = (tmp / "gunicorn.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - the compose file's command, our arguments
        command, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_until(lambda: process.poll() is None and get(port, "/healthz") == 200, "gunicorn up")
        yield process, port
    finally:
        stop(process)
        log.close()


def test_a_web_process_killed_mid_request_is_replaced_and_the_others_keep_serving(tmp_path):
    pidfile = tmp_path / "slow.pid"
    env = {"WUYI_SLOW_PIDFILE": str(pidfile)}
    with gunicorn(tmp_path, workers=2, env=env) as (master, port):
        wait_until(lambda: len(children(master.pid)) == 2, "two web processes")
        before = children(master.pid)
        outcome: list[object] = []

        def slow() -> None:
            try:
                outcome.append(get(port, "/__slow", timeout=WAIT))
            except (OSError, http.client.HTTPException) as exc:
                outcome.append(exc)

        client = threading.Thread(target=slow, daemon=True)
        client.start()
        wait_until(pidfile.exists, "the slow request under way")
        victim = int(pidfile.read_text())
        assert victim in before
        os.kill(victim, signal.SIGKILL)
        client.join(timeout=WAIT)
        # The request under way is lost (its client sees the connection drop), nothing else.
        assert outcome and not isinstance(outcome[0], int), outcome
        # The other process answers meanwhile; the master starts a new one, by itself.
        assert get(port, "/healthz") == 200
        wait_until(
            lambda: len(children(master.pid)) == 2 and victim not in children(master.pid),
            "a new web process in place of the killed one",
        )
        assert master.poll() is None
        for _ in range(6):
            assert get(port, "/healthz") == 200


def test_a_busy_web_process_leaves_the_next_requests_to_a_free_one(tmp_path):
    """A process accepts only as many connections as it has threads, one request each: a
    request never waits behind another in a busy process while a free one could answer it."""
    pidfile = tmp_path / "slow.pid"
    with gunicorn(tmp_path, workers=2, env={"WUYI_SLOW_PIDFILE": str(pidfile)}) as (master, port):
        wait_until(lambda: len(children(master.pid)) == 2, "two web processes")

        def slow() -> None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                get(port, "/__slow", timeout=WAIT)

        threading.Thread(target=slow, daemon=True).start()
        wait_until(pidfile.exists, "the slow request under way")
        try:
            # Each on a new connection: with the busy process accepting too, about half of
            # them would wait there for the minute the slow one takes.
            for _ in range(12):
                assert get(port, "/healthz", timeout=10) == 200
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.getheader("Connection") == "close"  # one request a connection
        finally:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


# --- Redis ---------------------------------------------------------------------------------

needs_redis_server = pytest.mark.skipif(
    not shutil.which("redis-server"), reason="redis-server is not installed"
)


def compose_redis_args() -> list[str]:
    """The compose file's redis-server options (append-only file, no eviction)."""
    services = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    command = services["redis"]["command"]
    assert command[0] == "redis-server"
    return list(command[1:])


def start_redis(port: int, tmp: Path, extra: list[str] | None = None) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
            *(extra or []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=1)
    wait_until(lambda: client.ping(), f"redis-server on port {port}")
    return process


@needs_redis_server
def test_healthz_names_the_broker_while_redis_is_down_and_is_healthy_when_it_is_back(
    client, db, tmp_path
):
    """A real Redis with the compose file's options, stopped and started again on the same
    port: the app's settings point the broker and the cache at it; nothing in the app is
    restarted."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "wuyi",
        }
    }
    redis_server = start_redis(port, tmp_path, compose_redis_args())
    try:
        with override_settings(CELERY_BROKER_URL=url, CACHES=caches):
            assert client.get("/healthz").status_code == 200

            stop(redis_server)
            response = client.get("/healthz")
            assert response.status_code == 503
            body = response.json()
            assert "broker" in body["failed"] and "cache" in body["failed"]
            assert body["parts"]["database"] == "ok"
            assert str(port) not in response.content.decode()  # no address to the public

            redis_server = start_redis(port, tmp_path, compose_redis_args())
            response = client.get("/healthz")
            assert response.status_code == 200, response.json()
            assert response.json()["failed"] == []
    finally:
        stop(redis_server)


# --- PostgreSQL ----------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres account."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture
def private_postgres() -> Iterator[tuple[Path, Path, int]]:
    """A PostgreSQL of our own on a free loopback port: (bin dir, data dir, port)."""
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: PostgreSQL cannot be started")
    work = Path(tempfile.mkdtemp(prefix="wuyi-faults-pg-"))
    work.chmod(0o755)
    data = work / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(  # noqa: S603 - fixed arguments
        _as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    pg_ctl = _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-w", "-t", "60"])
    options = ["-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1"]
    subprocess.run([*pg_ctl, "start", "-l", str(data / "log"), *options], check=True)  # noqa: S603
    try:
        yield pg_bin, data, port
    finally:
        subprocess.run([*pg_ctl, "stop", "-m", "fast"], check=False)  # noqa: S603
        shutil.rmtree(work, ignore_errors=True)


def test_postgres_restarted_the_web_process_reconnects_by_itself(private_postgres, tmp_path):
    """One web process with one thread keeps its connection (DJANGO_CONN_MAX_AGE); PostgreSQL
    restarts under it. The connection is checked before reuse (CONN_HEALTH_CHECKS), so the
    first request after the restart is served, by the same process; while PostgreSQL is down
    /healthz names the database, and it is healthy again once it is back."""
    pg_bin, data, port = private_postgres
    pg_ctl = _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-w", "-t", "60"])
    options = ["-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1"]
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/postgres",
        "DJANGO_CONN_MAX_AGE": "600",
    }
    with gunicorn(tmp_path, workers=1, env=env) as (master, web_port):
        wait_until(lambda: len(children(master.pid)) == 1, "the web process")
        worker = children(master.pid)
        assert get(web_port, "/healthz") == 200

        subprocess.run([*pg_ctl, "restart", "-m", "fast", *options], check=True)  # noqa: S603
        assert get(web_port, "/healthz") == 200  # the first request after the restart

        subprocess.run([*pg_ctl, "stop", "-m", "fast"], check=True)  # noqa: S603
        conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=10)
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        assert response.status == 503
        assert b'"failed": ["database"]' in response.read()
        conn.close()

        subprocess.run(  # noqa: S603
            [*pg_ctl, "start", "-l", str(data / "log"), *options], check=True
        )
        assert get(web_port, "/healthz") == 200
        assert children(master.pid) == worker  # nothing was restarted but PostgreSQL


# --- A worker killed mid-import ------------------------------------------------------------

IMPORT_ROWS = 10_000  # long enough to be caught writing


def import_rows(n: int) -> list[list]:
    """n residents, four to a household, in building 9 (9 units of 30 floors); ID numbers of
    their own (a birth day and a sequence each)."""
    import datetime

    from tests.residents.helpers import make_id

    rows = []
    first = datetime.date(1950, 1, 1)
    for i in range(n):
        household = i // 4
        unit, within = household // 600 + 1, household % 600
        born = first + datetime.timedelta(days=i // 100)
        rows.append(
            [
                i + 1,
                f"居民{i}",
                "女" if i % 2 else "男",
                make_id(i % 100, born=f"{born:%Y%m%d}", female=bool(i % 2)),
                "",
                "9",
                str(unit),
                f"{within // 20 + 1}{within % 20 + 1:02d}",
                "户主" if i % 4 == 0 else "子女",
                "",
                "",
            ]
        )
    return rows


def import_worker(broker: str, tmp: Path) -> subprocess.Popen:
    """deploy/compose.yaml's worker-imports command on the test database and `broker`, in a
    process group of its own (killed whole, as when its container or machine dies)."""
    from django.db import connection

    services = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    command = list(services["worker-imports"]["command"])
    command[0] = str(BIN / command[0])
    db = connection.settings_dict
    user = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {
        "DATABASE_URL": f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "REDIS_URL": broker,
        "WUYI_VAR_DIR": str(tmp),
        "DJANGO_SETTINGS_MODULE": "wuyi.settings",
        "PYTHONPATH": str(ROOT),
    }
    log = (tmp / f"worker-{time.monotonic_ns()}.log").open("w")
    return subprocess.Popen(  # noqa: S603 - the compose file's command
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def send_commit(broker: str, job_id: int) -> None:
    from wuyi.celery import app

    with app.connection_for_write(broker) as conn:
        app.send_task("residents.import_commit", args=[job_id], queue="imports", connection=conn)


def writing_residents() -> bool:
    """Another connection holds a write lock on the residents table: an import is writing."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'residents_resident' AND l.mode = 'RowExclusiveLock' "
            "AND l.pid <> pg_backend_pid()"
        )
        return bool(cur.fetchone()[0])


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.real_clock
@needs_redis_server
def test_a_worker_killed_mid_import_fails_by_its_lease_and_the_retry_imports_once(
    transactional_db, login, secretary_a, compound_a, tmp_path, settings
):
    """A real worker (the compose command) is killed while it writes a 10,000-row list:
    nothing is half-written, the job's page fails it once the lease has run out and offers
    重试, and the retry (another worker) writes the list once."""
    import datetime
    from unittest import mock

    import time_machine
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse
    from django.utils import timezone

    from residents import services, tasks
    from residents.models import ImportJob, Resident
    from tests.factories import BuildingFactory
    from tests.residents.helpers import write_csv

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the worker cannot see SQLite's in-memory test database")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    BuildingFactory(compound=compound_a, number="9", unit_count=9, floor_count=30)
    path = write_csv(tmp_path / "居民.csv", import_rows(IMPORT_ROWS))
    upload = SimpleUploadedFile("居民.csv", path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    job = services.import_job_check(job_id=job.pk)
    assert job.state == ImportJob.State.CHECKED and not job.report.get("bad_rows"), job.report
    assert services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False, by=secretary_a)

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis_server = start_redis(port, tmp_path)
    workers: list[subprocess.Popen] = []
    try:
        workers.append(import_worker(broker, tmp_path))
        send_commit(broker, job.pk)
        wait_until(writing_residents, "the worker writing the list", every=0.02)
        kill_group(workers[0])
        wait_until(lambda: not writing_residents(), "the killed worker's transaction gone")
        assert not Resident.objects.filter(compound=compound_a).exists()  # nothing half-written
        job.refresh_from_db()
        assert job.state == ImportJob.State.IMPORTING  # its page still shows the progress bar

        client = login(secretary_a)
        page = reverse("residents:import_job", args=[job.pk])
        lease = datetime.timedelta(seconds=settings.WUYI_IMPORT_LEASE_SECONDS)
        with time_machine.travel(timezone.now() + lease / 2, tick=False):
            client.get(page)
            job.refresh_from_db()
            assert job.state == ImportJob.State.IMPORTING  # within its lease: not yet
        with time_machine.travel(timezone.now() + lease * 1.2, tick=False):
            response = client.get(page)
        assert response.status_code == 200
        assert reverse("residents:import_retry", args=[job.pk]) in response.content.decode()
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and job.report["retry"] == "commit"

        with mock.patch.object(tasks.import_commit, "delay") as queued:
            response = client.post(reverse("residents:import_retry", args=[job.pk]))
        assert response.status_code == 302
        queued.assert_called_once_with(job.pk)  # sent to the private broker below instead
        workers.append(import_worker(broker, tmp_path))
        send_commit(broker, job.pk)

        def done() -> bool:
            job.refresh_from_db()
            return job.state in (ImportJob.State.DONE, ImportJob.State.FAILED)

        wait_until(done, "the retried import done")
        assert job.state == ImportJob.State.DONE, job.report
        assert Resident.objects.filter(compound=compound_a).count() == IMPORT_ROWS
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_group(worker, signal.SIGTERM)
        stop(redis_server)
