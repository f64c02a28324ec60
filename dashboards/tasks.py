"""Celery tasks of the dashboards app: each calls a function and returns its summary line."""

from celery import shared_task
from django.utils import timezone

from .reports import reports_write
from .selectors import figures_refresh


@shared_task(name="dashboards.daily_report")
def daily_report() -> str:
    """Daily at WUYI_DAILY_REPORT_TIME: each district's report of today, written again if it
    exists (idempotent)."""
    day = timezone.localdate()
    paths, replaced = reports_write(day)
    return f"daily report {day}: wrote {len(paths)} file(s) ({replaced} replaced)"


@shared_task(name="dashboards.refresh_figures")
def refresh_figures() -> str:
    """Every 10 minutes: the overview's counts kept for 15 minutes made again before they
    expire, so that no page pays for making them (idempotent)."""
    return f"refresh figures: {figures_refresh()} compound(s)"
