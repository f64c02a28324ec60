"""Celery tasks of the sanitation app: each calls a service and returns its summary line."""

import datetime

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="sanitation.generate_rosters")
def generate_rosters(day: str | None = None) -> str:
    """Daily at WUYI_ROSTER_TIME: the day's rounds (today unless given); idempotent."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return services.rosters_generate(day=when).line()


@shared_task(name="sanitation.catch_up_rosters")
def catch_up_rosters() -> str:
    """Hourly: today's rounds for compounds that have none (sealed since, or a missed run)."""
    return services.rosters_catch_up().line()


@shared_task(name="sanitation.remind_overdue")
def remind_overdue() -> str:
    """Every few minutes: each overdue round reminded once, then escalated once."""
    return services.rounds_remind_overdue().line()
