"""Celery tasks: each loads by id and calls the outbox. The beat schedule is in settings.

Publishing a batch lives here and is handed to the outbox (``outbox.dispatch(publish=...)``):
the outbox never imports this module, so the two do not import each other."""

import contextlib
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from . import outbox

log = logging.getLogger(__name__)


def publish_batch(batch_id: int) -> None:
    """Queue one claimed batch for a worker (raises when the broker cannot take it)."""
    send_batch.apply_async(
        (batch_id,),
        queue=settings.WUYI_SMS_QUEUE or None,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
    )


# Set while a dispatch is queued and has not begun: one is enough, however many ask. For
# QUEUED_SECONDS at most: a dispatch lost with its broker (or with a worker stopped before it
# began) holds the next ones back no longer than beat's own interval would.
QUEUED_KEY = "wuyi:sms-dispatch-queued"
QUEUED_SECONDS = 10
# Set for SPACING seconds by a dispatch queued at once: messages written meanwhile share the
# next one, queued to run when that time is up (a hundred campaigns a minute: two dispatches
# a second at most, each claiming what all of them wrote, not a dispatch and a batch each).
RECENT_KEY = "wuyi:sms-dispatch-recent"
SPACING = 1


def dispatch_soon(*, now: bool = False) -> bool:
    """Queue a dispatch, unless one is queued and has not begun (it will find what is due by
    then). After send_sms commits, so that a message leaves at once rather than at beat's next
    run: at once, or SPACING seconds after the last one that went at once. After a dispatch
    that stopped with more due (`now`): at once, queued behind the batches it just queued, so
    it runs when a worker is free. Never raises: beat's run is the fallback. True when it
    queued one."""
    try:
        if not cache.add(QUEUED_KEY, 1, timeout=QUEUED_SECONDS):
            return False
        spaced = not now and not cache.add(RECENT_KEY, 1, timeout=SPACING)
    except Exception:
        log.warning("SMS dispatch not queued: the cache is unavailable; beat will run it")
        return False
    try:
        dispatch.apply_async(
            queue=settings.WUYI_SMS_QUEUE or None, countdown=SPACING if spaced else 0, retry=False
        )
    except Exception:
        log.warning("SMS dispatch not queued: the broker is unavailable; beat will run it")
        with contextlib.suppress(Exception):
            cache.delete(QUEUED_KEY)
        return False
    return True


@shared_task(name="messaging.dispatch")
def dispatch() -> str:
    """Claim due recipients and queue their batches: every few seconds (beat), after a message
    is written (dispatch_soon), and again after itself while more is due. Idempotent."""
    with contextlib.suppress(Exception):
        cache.delete(QUEUED_KEY)  # from now on a new message queues another pass
    report = outbox.dispatch(publish=publish_batch, max_seconds=settings.WUYI_SMS_DISPATCH_SECONDS)
    if report.more:
        dispatch_soon(now=True)
    return str(report)


@shared_task(name="messaging.send_batch")
def send_batch(batch_id: int) -> str:
    """One claimed batch. Acks late and goes back to the queue if the worker dies (settings);
    a second delivery of a batch that ran, or runs, does nothing."""
    return str(outbox.batch_send(batch_id=batch_id))


@shared_task(name="messaging.poll_receipts")
def poll_receipts() -> str:
    """Delivery receipts pulled from providers that offer it. Idempotent."""
    return f"{outbox.receipts_poll()} receipts applied"
