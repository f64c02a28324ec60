"""The operations settings as an operator sets them: each read from the environment in a
fresh interpreter (settings are read once per process), and the deployment checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.core.checks import run_checks
from django.test import override_settings

from wuyi.checks import tls_settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "wuyi.example.org"}


def settings_with(env: dict[str, str], *names: str) -> dict:
    """The named settings as wuyi/settings.py computes them under `env` (and nothing else of
    ours from the environment)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WUYI_"))}
    clean.pop("DATABASE_URL", None)
    code = (
        "import json\nfrom django.conf import settings as s\n"
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}, default=str))"
    )
    run = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "wuyi.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


COOKIES = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT")


def test_production_has_tls_on_every_setting_together():
    found = settings_with(PRODUCTION, *COOKIES, "SECURE_HSTS_SECONDS", "WUYI_TLS")
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "WUYI_TLS": True,
    }


def test_a_plain_http_deployment_can_log_in():
    """WUYI_TLS=0: cookies a browser sends back over http, no redirect, no HSTS."""
    found = settings_with({**PRODUCTION, "WUYI_TLS": "0"}, *COOKIES, "SECURE_HSTS_SECONDS")
    assert found == dict.fromkeys((*COOKIES, "SECURE_HSTS_SECONDS"), False) | {
        "SECURE_HSTS_SECONDS": 0
    }


def test_tls_behind_a_proxy_that_redirects_itself():
    found = settings_with({**PRODUCTION, "DJANGO_SECURE_SSL_REDIRECT": "0"}, *COOKIES)
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": False,
    }


@override_settings(DEBUG=False, WUYI_TLS=False, SECURE_SSL_REDIRECT=False)
def test_a_start_without_tls_says_what_to_set():
    found = tls_settings()
    assert [m.id for m in found] == ["wuyi.W001"]
    assert "WUYI_TLS=1" in found[0].hint
    # And the check is registered: every start (migrate, runserver, check) prints it.
    assert "wuyi.W001" in [m.id for m in run_checks(tags=["wuyi"])]


@override_settings(DEBUG=False, WUYI_TLS=False, SECURE_SSL_REDIRECT=True)
def test_a_redirect_to_https_without_tls_is_refused():
    assert [m.id for m in tls_settings()] == ["wuyi.W001", "wuyi.E001"]


@override_settings(DEBUG=False, WUYI_TLS=True, SECURE_SSL_REDIRECT=True)
def test_tls_on_raises_nothing():
    assert tls_settings() == []


def test_pgbouncer_transaction_mode_settings():
    url = {"DATABASE_URL": "postgres://wuyi@127.0.0.1:6432/wuyi"}
    found = settings_with({**url, "WUYI_PGBOUNCER": "1"}, "DATABASES")["DATABASES"]["default"]
    assert found["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert found["CONN_MAX_AGE"] == 0
    assert found["CONN_HEALTH_CHECKS"] is True
    direct = settings_with({**url, "DJANGO_CONN_MAX_AGE": "300"}, "DATABASES")["DATABASES"]
    assert direct["default"]["CONN_MAX_AGE"] == 300
    assert not direct["default"].get("DISABLE_SERVER_SIDE_CURSORS")


def test_json_log_lines_without_secrets():
    code = (
        "import django, logging; django.setup()\n"
        "logging.getLogger('wuyi.test').warning('GET /messaging/receipts/?token=abc123 200')\n"
        "try:\n    1/0\nexcept ZeroDivisionError:\n"
        "    logging.getLogger('django.request').exception('boom ?secret=xyz')\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WUYI_"))}
    run = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={
            **clean,
            **PRODUCTION,
            "WUYI_PII_KEY": "k" * 40,
            "WUYI_LOG_FORMAT": "json",
            "DJANGO_SETTINGS_MODULE": "wuyi.settings",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 2, run.stderr
    first, second = lines
    assert first["level"] == "WARNING" and first["logger"] == "wuyi.test"
    assert first["message"] == "GET /messaging/receipts/?token=[redacted] 200"
    assert first["time"].endswith("+00:00")
    assert second["exc_type"] == "ZeroDivisionError" and "Traceback" in second["exc"]
    assert "abc123" not in run.stderr and "xyz" not in run.stderr
