from celery import shared_task
from django.conf import settings

from .services import access_logs_purge


@shared_task(name="accounts.purge_access_logs")
def purge_access_logs() -> int:
    """Daily: drop login records past their retention. Idempotent."""
    return access_logs_purge(older_than_days=settings.WUYI_ACCESS_LOG_RETENTION_DAYS)
