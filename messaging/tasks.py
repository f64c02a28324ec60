"""Celery tasks: each loads by id and calls the outbox. The beat schedule is in settings.

Publishing a batch lives here and is handed to the outbox (``outbox.dispatch(publish=...)``):
the outbox never imports this module, so the two do not import each other."""

from celery import shared_task
from django.conf import settings

from . import outbox


def publish_batch(batch_id: int) -> None:
    """Queue one claimed batch for a worker (raises when the broker cannot take it)."""
    send_batch.apply_async(
        (batch_id,),
        queue=settings.WUYI_SMS_QUEUE or None,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
    )


@shared_task(name="messaging.dispatch")
def dispatch() -> str:
    """Every few seconds (beat): claim due recipients and queue their batches. Idempotent."""
    return str(
        outbox.dispatch(publish=publish_batch, max_seconds=settings.WUYI_SMS_DISPATCH_SECONDS)
    )


@shared_task(name="messaging.send_batch")
def send_batch(batch_id: int) -> str:
    """One claimed batch. Acks late and goes back to the queue if the worker dies (settings);
    a second delivery of a batch that ran, or runs, does nothing."""
    return str(outbox.batch_send(batch_id=batch_id))


@shared_task(name="messaging.poll_receipts")
def poll_receipts() -> str:
    """Delivery receipts pulled from providers that offer it. Idempotent."""
    return f"{outbox.receipts_poll()} receipts applied"
