"""Writes on accounts that are more than a form save."""

import datetime

from axes.models import AccessLog
from django.utils import timezone

from wuyi.lib import pgcopy


def access_logs_purge(*, older_than_days: int) -> int:
    """Delete login records (user name, address, browser) older than the given age.

    They are personal data kept only to investigate break-in attempts. Returns the count.
    """
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _ = AccessLog.objects.filter(attempt_time__lt=cutoff).delete()
    pgcopy.analyze_after_delete({AccessLog: deleted})
    return deleted
