"""Faults, with real processes, each recovering without a manual step (docs/operations.md,
Faults and recovery): a web process killed mid-request, Redis restarted, PostgreSQL restarted.

Nothing shared is touched: each test starts its own gunicorn, redis-server or PostgreSQL on a
free loopback port and stops what it started, by pid. Waits are bounded (a deadline per wait);
nothing asserts how long anything took. (A worker killed mid-import: tests/residents/
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


def wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if predicate():
                return
        time.sleep(0.2)
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


# --- Redis ---------------------------------------------------------------------------------

needs_redis_server = pytest.mark.skipif(
    not shutil.which("redis-server"), reason="redis-server is not installed"
)


def start_redis(port: int, tmp: Path) -> subprocess.Popen:
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
    """A real Redis, stopped and started again on the same port: the app's settings point
    the broker and the cache at it; nothing in the app is restarted."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "wuyi",
        }
    }
    redis_server = start_redis(port, tmp_path)
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

            redis_server = start_redis(port, tmp_path)
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
