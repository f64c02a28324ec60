"""deploy/ checked without a container runtime: the compose file's shape, its settings against
what wuyi/settings.py reads, the systemd units against the compose commands, and a real backup
restored and compared (deploy/backup, deploy/restore-check)."""

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_SERVICES = {"web", "worker-sms", "worker-imports", "worker-default", "beat", "migrate"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_service_the_issue_names_is_there(compose):
    services = compose["services"]
    assert APP_SERVICES | {"postgres", "pgbouncer", "redis", "proxy"} <= set(services)
    for name, service in services.items():
        assert "image" in service, name
        image = service["image"]
        # Pinned images (a tag, not latest), but our own, built by deploy/Dockerfile.
        if name not in APP_SERVICES:
            assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
    assert (DEPLOY / "Dockerfile").exists()


def test_start_up_order(compose):
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert "migrate --noinput" in " ".join(services["migrate"]["command"])
    assert "check --deploy" in " ".join(services["migrate"]["command"])
    for name in APP_SERVICES - {"migrate"}:
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert "healthz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_one_beat(compose):
    beats = [
        name
        for name, service in compose["services"].items()
        if "beat" in service.get("command", [])
    ]
    assert beats == ["beat"]
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1


def worker_queues(compose) -> dict[str, list[str]]:
    found = {}
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if "worker" in command:
            found[name] = command[command.index("--queues") + 1].split(",")
    return found


def test_every_queue_has_a_worker_and_sms_one_of_its_own(compose):
    queues = worker_queues(compose)
    assert queues["worker-sms"] == ["sms"]
    assert queues["worker-imports"] == ["imports"]
    served = [q for qs in queues.values() for q in qs]
    assert sorted(served) == sorted(settings.WUYI_QUEUES)  # each once


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    assert match, value
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_workers_get_time_to_finish_what_they_run(compose):
    services = compose["services"]
    sms_batch = settings.WUYI_SMS_BATCH_SIZE / settings.WUYI_SMS_HTTP_BATCH
    assert _seconds(services["worker-sms"]["stop_grace_period"]) >= sms_batch * (
        settings.WUYI_SMS_TIMEOUT
    )
    assert _seconds(services["worker-imports"]["stop_grace_period"]) >= (
        settings.WUYI_IMPORT_MAX_SECONDS + 120
    )


def test_every_setting_in_the_compose_file_is_one_the_app_reads(compose):
    """A misspelt variable would be ignored silently: each must be read by wuyi/settings.py."""
    source = (ROOT / "wuyi" / "settings.py").read_text()
    env = compose["x-app"]["environment"]
    assert {"DJANGO_SECRET_KEY", "WUYI_PII_KEY", "DATABASE_URL", "REDIS_URL"} <= set(env)
    for name in env:
        assert f'"{name}"' in source, f"{name} is not read by wuyi/settings.py"
    assert env["WUYI_PGBOUNCER"] == "1" and env["WUYI_LOG_FORMAT"] == "json"
    assert ":6432/" in env["DATABASE_URL"]  # the app goes through PgBouncer
    bouncer = compose["services"]["pgbouncer"]["environment"]
    assert bouncer["POOL_MODE"] == "transaction"
    # The connection budget: what the app's processes may hold fits PgBouncer's clients.
    assert budget(compose) <= int(bouncer["MAX_CLIENT_CONN"])


def budget(compose) -> int:
    """web processes x threads + each worker's concurrency + beat + 2 for commands."""
    services = compose["services"]
    web = services["web"]["command"]
    total = int(web[web.index("--workers") + 1]) * int(web[web.index("--threads") + 1])
    for name in worker_queues(compose):
        command = services[name]["command"]
        total += int(command[command.index("--concurrency") + 1])
    return total + 1 + 2


def units() -> dict[str, configparser.ConfigParser]:
    found = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(path)
        found[path.stem] = parser
    return found


def test_systemd_units_run_what_the_compose_file_runs(compose):
    services, found = compose["services"], units()
    for name in ("web", "worker-sms", "worker-imports", "worker-default", "beat"):
        unit = found[f"wuyi-{name}"]
        args = shlex.split(unit["Service"]["ExecStart"])
        args[0] = Path(args[0]).name
        expected = [a.replace("0.0.0.0:8000", "127.0.0.1:8000") for a in services[name]["command"]]
        assert [a.replace("%%", "%") for a in args] == expected, name
        assert "wuyi-migrate.service" in unit["Unit"]["After"], name
        if name != "web":
            assert unit["Service"]["KillMode"] == "mixed", name
    assert sum("beat" in u["Service"]["ExecStart"] for u in found.values()) == 1


def test_a_web_process_takes_one_request_per_thread(compose):
    """As many connections as threads, no keep-alive: the next request waits in the listening
    socket for whichever process frees a thread (test_faults checks it on a live gunicorn)."""
    web = compose["services"]["web"]["command"]
    threads = web[web.index("--threads") + 1]
    assert web[web.index("--worker-connections") + 1] == threads
    assert web[web.index("--keep-alive") + 1] == "0"
    upstream = (DEPLOY / "nginx.conf").read_text().split("upstream wuyi_web {")[1].split("}")[0]
    assert "keepalive" not in upstream  # gunicorn would close them anyway


def test_nginx_serves_static_files_and_tells_django_the_scheme():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "location /static/" in conf
    assert "proxy_set_header X-Forwarded-Proto https" in conf
    assert "client_max_body_size" in conf


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


def test_a_backup_restores_with_every_table_equal(transactional_db, tmp_path, compound_a):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("backups are of PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("PostgreSQL's client programs are not installed")
    env = {"DATABASE_URL": _database_url(), "PATH": "/usr/bin:/bin", "WUYI_PYTHON": sys.executable}
    dump = subprocess.run(  # noqa: S603
        [str(DEPLOY / "backup"), "--dir", str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert dump.returncode == 0, dump.stderr
    assert dump.stdout.startswith("backup: ")
    manifest = json.loads(next(tmp_path.glob("*.manifest.json")).read_text())
    assert manifest["tables"]["compounds_compound"]["rows"] >= 1
    check = subprocess.run(  # noqa: S603
        [str(DEPLOY / "restore-check"), "--dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "every table's rows and checksum match" in check.stdout


def test_the_restore_check_names_a_table_that_differs():
    sys.path.insert(0, str(DEPLOY))
    try:
        from backups import compare
    finally:
        sys.path.remove(str(DEPLOY))
    expected = {"a": {"rows": 2, "checksum": "x"}, "b": {"rows": 1, "checksum": "y"}}
    assert compare(expected, expected) == []
    found = {"a": {"rows": 1, "checksum": "z"}}
    assert compare(expected, found) == [
        "a: rows 2 -> 1, checksum differs",
        "b: missing from the restore",
    ]
