"""Celery tasks of the care app: each calls a service and returns its summary line."""

import datetime

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="care.generate_checks")
def generate_checks(day: str | None = None) -> str:
    """Daily at WUYI_WELFARE_TIME: the day's welfare checks (today unless given); idempotent."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return services.checks_generate(day=when).line()
