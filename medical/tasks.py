"""Celery tasks of the medical app: each calls a service and returns its summary line."""

from celery import shared_task

from . import rules, services


@shared_task(name="medical.book_escorts")
def book_escorts(days: int | None = None) -> str:
    """Hourly: the escorts of every active schedule for the coming days; idempotent."""
    return services.escorts_book(days=days or rules.DEFAULT_BOOK_DAYS).line()


@shared_task(name="medical.notify_escorts")
def notify_escorts() -> str:
    """Every ten minutes: residents and crews of tomorrow's booked escorts told, once."""
    return f"notified {services.escorts_notify_due()} phones"
