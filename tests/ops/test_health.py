"""/healthz and /metrics, as a load balancer and Prometheus use them (dashboards/health.py)."""

import os
import time
import uuid
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from dashboards import health
from messaging.models import Recipient
from tests.factories import MessageFactory

# A port nothing listens on: Redis "down" without stopping the Redis other tests use.
DOWN = "redis://127.0.0.1:1/0"
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no Redis broker to ask"
)
TOKEN = "metrics-token-for-tests"


def test_healthz_answers_anyone_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "parts": {"database": "ok", "cache": "ok", "broker": "ok"},
        "failed": [],
    }
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert not response.cookies  # no session started for a probe


def test_healthz_names_the_broker_when_redis_is_down_and_recovers(client, db):
    with override_settings(CELERY_BROKER_URL=DOWN):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["failed"] == ["broker"]
    assert body["parts"]["broker"] == "failed" and body["parts"]["database"] == "ok"
    # Back: the next probe is healthy again, with nothing restarted.
    assert client.get("/healthz").status_code == 200


def test_healthz_names_the_cache_when_it_fails(client, db):
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DOWN}
    }
    with override_settings(CACHES=caches):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


def test_healthz_names_the_database_when_it_fails(client, db):
    failing = mock.Mock(side_effect=OperationalError("could not connect to db.internal"))
    with mock.patch.dict(health.PARTS, {"database": failing}):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert b"db.internal" not in response.content  # no driver message (hosts, users) to the public


def test_healthz_takes_only_get(client, db):
    assert client.post("/healthz").status_code == 405


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_not_redirected_to_https(client, db):
    """Asked on the inside over plain http, it answers rather than redirecting."""
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_metrics_is_off_without_a_token(client, db, secretary_a):
    assert client.get("/metrics").status_code == 404
    client.force_login(secretary_a)
    assert client.get("/metrics").status_code == 404  # a login is not the token


@override_settings(WUYI_METRICS_TOKEN=TOKEN)
def test_metrics_wants_the_right_bearer_token(client, db):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 404
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")


@override_settings(WUYI_METRICS_TOKEN=TOKEN)
def test_metrics_show_the_outbox_backlog_and_its_age(client, compound_a):
    message = MessageFactory(compound=compound_a)
    due = timezone.now() - timezone.timedelta(minutes=10)
    Recipient.objects.create(message=message, phone="13800000001", due_at=due)
    Recipient.objects.create(message=message, phone="13800000002", due_at=due)
    # Due later: not yet backlog.
    Recipient.objects.create(
        message=message, phone="13800000003", due_at=timezone.now() + timezone.timedelta(hours=1)
    )
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    values = _samples(text)
    assert values["wuyi_sms_due"] == 2
    assert 590 <= values["wuyi_sms_due_oldest_seconds"] < 3600
    assert values['wuyi_up{part="database"}'] == 1
    assert values["wuyi_import_jobs_running"] == 0
    assert "138" not in text  # counts only, no number


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


@needs_redis
def test_queue_depth_and_oldest_message_age(db):
    """A task waiting in a queue is counted, with the age of the oldest from its header."""
    from wuyi.celery import app

    queue = f"wuyi-test-{uuid.uuid4().hex[:8]}"
    client = health._broker_redis()
    try:
        with override_settings(WUYI_QUEUES=(queue,)):
            assert health.queue_figures() == {queue: (0, 0.0)}
            app.send_task("accounts.purge_access_logs", queue=queue)
            app.send_task("accounts.purge_access_logs", queue=queue)
            depth, age = health.queue_figures(now=time.time() + 60)[queue]
        assert depth == 2
        assert 59 <= age < 120
    finally:
        client.delete(queue)


@override_settings(WUYI_METRICS_TOKEN=TOKEN, CELERY_BROKER_URL=DOWN)
def test_metrics_with_the_broker_down_say_so_and_still_count_the_database(client, db):
    values = _samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
    assert values['wuyi_up{part="broker"}'] == 0
    assert not any(name.startswith("wuyi_queue_depth") for name in values)
    assert "wuyi_sms_due" in values
