"""Celery tasks of the supplies app: each calls a service and returns its summary line."""

from celery import shared_task

from . import services
from .services import self_order


@shared_task(name="supplies.purge_self_codes")
def purge_self_codes() -> str:
    """Daily: residents' ordering codes older than a day are deleted."""
    return f"deleted {services.self_codes_purge()} ordering codes"


@shared_task(name="supplies.deliver_self_code")
def deliver_self_code(code_id: int) -> str:
    """Queued on commit by a request for an ordering code: look the number up at its door and
    text it a code, or nothing (idempotent)."""
    return services.self_code_deliver(code_id=code_id)


# The services queue a lookup through this hook rather than importing this module back.
self_order.queue_self_code = deliver_self_code.delay
