"""Background work through a real Celery worker on the real broker (Redis in CI)."""

import datetime
import os
import time

import pytest
from axes.models import AccessLog
from django.conf import settings
from django.utils import timezone

from accounts.services import access_logs_purge
from accounts.tasks import purge_access_logs


def _old_and_new_logs():
    old = AccessLog.objects.create(username="u1", ip_address="127.0.0.1")
    AccessLog.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - datetime.timedelta(days=120)
    )
    new = AccessLog.objects.create(username="u2", ip_address="127.0.0.1")
    return old, new


def test_purge_keeps_recent_logs(db):
    _old, new = _old_and_new_logs()
    assert access_logs_purge(older_than_days=90) == 1
    assert list(AccessLog.objects.all()) == [new]
    # Running it again is harmless.
    assert access_logs_purge(older_than_days=90) == 0


def test_beat_schedule_names_registered_tasks():
    from wuyi.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no real broker to test against"
)
def test_task_runs_on_a_real_worker(transactional_db):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the worker thread cannot see SQLite's in-memory test database")
    from celery.contrib.testing.worker import start_worker

    from wuyi.celery import app

    old, new = _old_and_new_logs()
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
        purge_access_logs.delay()
        deadline = time.monotonic() + 30
        while AccessLog.objects.filter(pk=old.pk).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [new.pk]
