"""Celery tasks of screening: each calls a service and returns its summary line."""

from celery import shared_task

from . import services


@shared_task(name="screening.remind_test_days")
def remind_test_days() -> str:
    """Each morning: people in quarantine told that today is a test day, once each."""
    return services.test_day_reminders().line()
