"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import os
import time

from celery import Celery
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

app = Celery("wuyi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _stamp_sent_at(headers: dict | None = None, **kwargs: object) -> None:
    """Each task message carries when it was sent, so that /metrics can tell the age of the
    oldest message waiting in each queue (dashboards/health.py)."""
    if headers is not None:
        headers.setdefault("wuyi_sent_at", time.time())
