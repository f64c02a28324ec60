"""What reaches the logs, through the handlers settings.LOGGING really configures: no receipt
token from a URL (runserver's request lines, gunicorn's access log, Django's request log), and
a 403 in one line instead of a traceback (902 of them in one run)."""

import datetime
import io
import logging
import runpy
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from residents.models import Household
from residents.services import resident_save

TOKEN = "s3cret-receipt-token-0123"


@contextmanager
def handler_output(logger_name: str):
    """What the configured handlers reachable from `logger_name` write, as one string."""
    logger, streams, handlers = logging.getLogger(logger_name), [], []
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.name:
                handlers.append((handler, handler.stream))
                stream = io.StringIO()
                handler.setStream(stream)
                streams.append(stream)
        logger = logger.parent if logger.propagate else None
    assert handlers, f"no configured handler writes {logger_name}"
    out = io.StringIO()
    try:
        yield out
    finally:
        for handler, stream in handlers:
            handler.setStream(stream)
        out.write("".join(s.getvalue() for s in streams))


def test_a_403_is_logged_in_one_line(client, district_staff, secretary_a, compound_a):
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )
    person = resident_save(by=secretary_a, household=home, data={"name": "张桂兰"})
    client.force_login(district_staff)
    url = reverse("residents:edit", args=[person.pk])
    with handler_output("django.request") as out:
        assert client.get(url).status_code == 403
    text = out.getvalue()
    assert f"Forbidden (Permission denied): {url}" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text


def test_a_refused_admin_lookup_is_logged_in_one_line(client, secretary_a):
    secretary_a.user_permissions.set(Permission.objects.all())
    client.force_login(secretary_a)
    with handler_output("django.security.DisallowedModelAdminLookup") as out:
        response = client.get("/admin/residents/resident/", {"phone__startswith": "138"})
    assert response.status_code == 400
    text = out.getvalue()
    assert "phone__startswith" in text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text


def test_runserver_request_lines_carry_no_receipt_token():
    """The line runserver writes for a provider's receipt (django.server)."""
    with handler_output("django.server") as out:
        logging.getLogger("django.server").info(
            '"%s" %s %s',
            f"POST /messaging/receipts/aliyun/?token={TOKEN}&x=1 HTTP/1.1",
            "200",
            "21",
        )
    text = out.getvalue()
    assert "/messaging/receipts/aliyun/?token=[redacted]&x=1" in text
    assert TOKEN not in text


def test_a_refused_receipt_logs_no_token(client, settings):
    settings.WUYI_SMS_RECEIPT_TOKEN = "the-real-one"
    with handler_output("django.request") as out:
        response = client.post(
            f"/messaging/receipts/aliyun/?token={TOKEN}", "[]", content_type="application/json"
        )
    assert response.status_code == 403
    assert TOKEN not in out.getvalue()


class _Response:
    status = "200 OK"
    sent = 21
    headers = [("Content-Type", "application/json")]


def test_gunicorns_access_log_carries_no_receipt_token():
    """gunicorn.conf.py (read from the working directory) names the redacting logger."""
    from gunicorn.config import Config

    conf = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    config = Config()
    config.set("logger_class", conf["logger_class"])
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/messaging/receipts/aliyun/?token={TOKEN}",
        "PATH_INFO": "/messaging/receipts/aliyun/",
        "QUERY_STRING": f"token={TOKEN}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
    }
    atoms = logger.atoms(_Response(), [], environ, datetime.timedelta(milliseconds=5))
    line = config.access_log_format % atoms
    assert "/messaging/receipts/aliyun/?token=[redacted]" in line
    assert TOKEN not in repr(atoms)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("/r/?token=abc", "/r/?token=[redacted]"),
        ("/r/?a=1&TOKEN=abc&b=2", "/r/?a=1&TOKEN=[redacted]&b=2"),
        ("token=abc", "token=[redacted]"),
        ("/r/?monkey=1&tokens=2", "/r/?monkey=1&tokens=2"),
        ("no query", "no query"),
    ],
)
def test_redact(text, clean):
    from wuyi.logfilters import redact

    assert redact(text) == clean
