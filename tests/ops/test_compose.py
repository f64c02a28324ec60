"""deploy/compose.yaml checked without a container runtime, as `docker compose config` would
and a little more: its variables interpolated as compose does, the result against a schema of
the keys we use (a misspelt key fails here, not on the operator's host), every reference
resolved; then every setting and command of our own run once by the suite's processes: the
app's environment through wuyi/settings.py and `check --deploy`, gunicorn's arguments through
`gunicorn --check-config`, Celery's through its own parser, migrate's through each
management command's parser, the health check against a live gunicorn. (The web, worker and
beat commands also run for real in bench/load.py; gunicorn in tests/ops/test_faults.py.)"""

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.ops.test_faults import BIN, ROOT, free_port, gunicorn

DEPLOY = ROOT / "deploy"
OUR_IMAGE = {"migrate", "web", "worker-sms", "worker-imports", "worker-default", "beat"}
# The secrets and names an operator fills in (deploy/wuyi.env.example), with test values.
FILLED = {
    "DJANGO_SECRET_KEY": "compose-test-" + "s" * 50,
    "WUYI_PII_KEY": "compose-test-pii-key",
    "POSTGRES_PASSWORD": "compose-test-password",
}

# ----------------------------------------------------------------------------- interpolation

VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class Unset(Exception):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation: ${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error},
    $X, and $$ for a dollar sign; applied to every string of the file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        if match[0] == "$$":
            return "$"
        name = match["name"] or match["bare"]
        op, arg = match["op"], match["arg"] or ""
        given = env.get(name)
        empty = given is None or (given == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if (given is None if op == "-" else empty) else str(given)
        if op in (":?", "?") and (given is None if op == "?" else empty):
            raise Unset(f"{name}: {arg}")
        return "" if given is None else given

    return VARIABLE.sub(one, value)


def variables(value) -> list[tuple[str, str | None]]:
    """Every (name, op) the file's strings use."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in variables(item)]
    if isinstance(value, list):
        return [v for item in value for v in variables(item)]
    if not isinstance(value, str):
        return []
    return [(m["name"] or m["bare"], m["op"]) for m in VARIABLE.finditer(value) if m[0] != "$$"]


def env_example() -> dict[str, str]:
    found = {}
    for line in (DEPLOY / "wuyi.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    """The file as compose runs it with deploy/wuyi.env.example filled in."""
    return interpolate(raw, {**env_example(), **FILLED})


def test_every_variable_is_in_the_env_example_or_has_a_default(raw):
    example = env_example()
    for name, op in variables(raw):
        if op in (":?", "?"):
            assert name in example, f"{name} is required but not in deploy/wuyi.env.example"
        elif op is None:
            assert name in example, f"{name} has no default and is not in the example"


def test_a_required_secret_left_empty_stops_the_start(raw):
    with pytest.raises(Unset, match="DJANGO_SECRET_KEY"):
        interpolate(raw, {**env_example(), **FILLED, "DJANGO_SECRET_KEY": ""})


def test_interpolation_as_compose_does_it():
    env = {"A": "", "B": "b"}
    assert interpolate("${A:-x} ${A-x} ${B:-x} ${C-y} $$HOME ${B}$B", env) == "x  b y $HOME bb"
    with pytest.raises(Unset):
        interpolate("${A:?say}", env)
    assert interpolate("${A?say}", env) == ""


# ----------------------------------------------------------------------------- schema

DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}
STRINGS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
SERVICE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "build": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"context": {"type": "string"}, "dockerfile": {"type": "string"}},
            "required": ["context"],
        },
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "command": STRINGS,
        "environment": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "volumes": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[^:]+:/[^:]*(:ro)?$"},
        },
        "ports": {"type": "array", "items": {"type": "string", "pattern": r"^\d+:\d+$"}},
        "expose": {"type": "array", "items": {"type": "string", "pattern": r"^\d+$"}},
        "depends_on": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "condition": {
                        "enum": [
                            "service_started",
                            "service_healthy",
                            "service_completed_successfully",
                        ]
                    }
                },
                "required": ["condition"],
            },
        },
        "healthcheck": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "test": {
                    "type": "array",
                    "items": {"type": "string"},
                    "prefixItems": [{"enum": ["CMD", "CMD-SHELL"]}],
                },
                "interval": DURATION,
                "timeout": DURATION,
                "retries": {"type": "integer", "minimum": 1},
                "start_period": DURATION,
            },
            "required": ["test"],
        },
        "stop_grace_period": DURATION,
        "deploy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"replicas": {"type": "integer", "minimum": 0}},
        },
    },
    "required": ["image"],
}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "services": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9._-]+$": SERVICE},
        },
        "volumes": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9._-]+$": {"type": ["object", "null"]}},
        },
    },
    "required": ["services"],
}


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    )


def test_the_file_fits_the_schema(compose):
    assert schema_errors(compose) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda c: c["services"]["web"].update({"stop_grace_periode": "40s"}),
            "stop_grace_periode",
        ),
        (lambda c: c["services"]["web"].update({"restart": "sometimes"}), "sometimes"),
        (
            lambda c: c["services"]["migrate"]["depends_on"]["postgres"].update(
                {"condition": "up"}
            ),
            "up",
        ),
        (
            lambda c: c["services"]["redis"]["healthcheck"].update({"interval": "5 seconds"}),
            "5 seconds",
        ),
        (lambda c: c["services"]["beat"].update({"command": "celery -A wuyi beat"}), "celery"),
    ],
)
def test_the_schema_names_what_is_wrong(compose, change, expected):
    broken = json.loads(json.dumps(compose))
    change(broken)
    errors = schema_errors(broken)
    assert errors and expected in " ".join(errors), errors


def test_every_reference_resolves(compose):
    services, volumes = compose["services"], set(compose.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if service["depends_on"][dependency]["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no health check"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                if "tls" not in source:  # the operator's certificates, not in the repository
                    assert (DEPLOY / source).resolve().exists(), f"{name}: {source} is missing"
            else:
                assert source in volumes, f"{name}: volume {source} is not declared"
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file()
    # No cycle: every service can start.
    started: set[str] = set()
    while len(started) < len(services):
        ready = {
            n
            for n, s in services.items()
            if n not in started and set(s.get("depends_on", {})) <= started
        }
        assert ready, f"a cycle among {set(services) - started}"
        started |= ready


# ----------------------------------------------------------------------------- run once


def local_env(environment: dict, tmp: Path) -> dict[str, str]:
    """A service's environment as our processes take it: container paths to `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WUYI_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    for name, value in environment.items():
        env[name] = str(value).replace("/var/lib/wuyi", str(tmp))
    env["PYTHONPATH"] = str(ROOT)
    env["DJANGO_SETTINGS_MODULE"] = "wuyi.settings"
    return env


SETTINGS_DUMP = """
import json
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "db": [db["HOST"], db["PORT"], db["NAME"], db.get("DISABLE_SERVER_SIDE_CURSORS", False),
           db["CONN_MAX_AGE"]],
    "broker": s.CELERY_BROKER_URL, "cache": s.CACHES["default"]["BACKEND"],
    "sessions": s.SESSION_ENGINE,
    "secure": [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT],
    "debug": s.DEBUG, "hosts": s.ALLOWED_HOSTS,
}))
"""


def run_settings(environment: dict, tmp: Path) -> dict:
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", SETTINGS_DUMP],
        env=local_env(environment, tmp),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_apps_environment_is_what_settings_py_makes_of_it(compose, tmp_path):
    web = run_settings(compose["services"]["web"]["environment"], tmp_path)
    assert web["db"] == ["pgbouncer", 6432, "wuyi", True, 0]  # through PgBouncer
    assert web["broker"] == "redis://redis:6379/0"
    assert web["cache"].endswith("RedisCache")
    # Read from Redis, written through to PostgreSQL: a Redis restart logs nobody out.
    assert web["sessions"] == "django.contrib.sessions.backends.cached_db"
    assert web["secure"] == [True, True, True] and web["debug"] is False
    assert web["hosts"] == ["wuyi.example.gov.cn"]
    migrate = run_settings(compose["services"]["migrate"]["environment"], tmp_path)
    assert migrate["db"][:4] == ["postgres", 5432, "wuyi", False]  # straight to PostgreSQL


def test_check_deploy_passes_with_the_apps_environment(compose, tmp_path):
    """What the migrate service runs last, with the file's settings: no warning either."""
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=local_env(compose["services"]["migrate"]["environment"], tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_gunicorn_takes_the_web_command(compose, tmp_path):
    command = compose["services"]["web"]["command"]
    assert command[0] == "gunicorn"
    done = subprocess.run(  # noqa: S603 - the compose file's arguments
        [str(BIN / "gunicorn"), "--check-config", *command[1:]],
        env=local_env(compose["services"]["web"]["environment"], tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def celery_parse(args: list[str]) -> tuple[str, dict]:
    """Celery's own command line parser (click) on `args`, without starting anything."""
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery as cli

    from wuyi.celery import app

    ctx = cli.make_context("celery", list(args))
    ctx.obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rest = [*ctx.protected_args, *ctx.args]
    name, command, rest = cli.resolve_command(ctx, rest)
    assert command is not None and name is not None
    return name, command.make_context(name, rest, parent=ctx).params


def test_celery_takes_every_worker_and_beat_command(compose):
    import click

    kinds = {}
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if command[:1] == ["celery"]:
            kind, params = celery_parse(command[1:])
            kinds[name] = kind
            if kind == "worker":
                assert params["concurrency"] >= 1 and params["queues"], name
    assert sorted(kinds.values()) == ["beat", "worker", "worker", "worker"]
    with pytest.raises(click.exceptions.NoSuchOption):
        celery_parse(["-A", "wuyi", "worker", "--concurency", "3"])


def test_django_takes_every_command_migrate_runs(compose):
    from django.core.management import get_commands, load_command_class

    command = compose["services"]["migrate"]["command"]
    assert command[:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in command[2].split("&&")]
    assert [s[2] for s in steps] == ["migrate", "collectstatic", "check"]
    for step in steps:
        assert step[:2] == ["python", "manage.py"], step
        name, args = step[2], step[3:]
        parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
        parser.parse_args(args)  # exits (SystemExit) on an option it does not know


def test_the_web_health_check_against_a_live_server(compose, tmp_path):
    """The web service's healthcheck command, run as written against a gunicorn: healthy,
    then (nothing listening) not."""
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "deploy/healthcheck.py"]
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    with gunicorn(tmp_path, workers=1) as (_master, port):
        url = test[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(  # noqa: S603
            [sys.executable, test[2], url], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    closed = test[3].replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}")
    done = subprocess.run(  # noqa: S603
        [sys.executable, test[2], closed], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 1


def test_collectstatic_as_migrate_runs_it(compose, tmp_path):
    """migrate's second step with production's storage (hashed, compressed, every reference
    in the CSS and JS resolved): a vendored file pointing at a missing source map stops every
    start of the deployment here, not on the host."""
    environment = compose["services"]["migrate"]["environment"]
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=local_env(environment, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert any(name.startswith("js/htmx-") for name in manifest["paths"])
