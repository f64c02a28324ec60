"""Celery tasks of the supplies app: each calls a service and returns its summary line."""

from celery import shared_task

from . import services


@shared_task(name="supplies.purge_self_codes")
def purge_self_codes() -> str:
    """Daily: residents' ordering codes older than a day are deleted."""
    return f"deleted {services.self_codes_purge()} ordering codes"
