"""Celery tasks: each loads by id and calls a service. The beat schedule is in settings."""

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="messaging.dispatch")
def dispatch() -> str:
    """Every few seconds (beat): claim due recipients and queue their batches. Idempotent."""
    return str(services.dispatch(max_seconds=settings.WUYI_SMS_DISPATCH_SECONDS))


@shared_task(name="messaging.send_batch")
def send_batch(batch_id: int) -> str:
    """One claimed batch. Acks late and goes back to the queue if the worker dies (settings);
    a second delivery of a batch that ran, or runs, does nothing."""
    return str(services.batch_send(batch_id=batch_id))


@shared_task(name="messaging.poll_receipts")
def poll_receipts() -> str:
    """Delivery receipts pulled from providers that offer it. Idempotent."""
    return f"{services.receipts_poll()} receipts applied"
