import datetime

from celery import shared_task
from django.conf import settings

from . import codes, services

# A run that outlives this is stopped (the job's attempts then end it after a few tries).
_LIMIT = int(getattr(settings, "WUYI_IMPORT_MAX_SECONDS", 600)) + 120


@shared_task(name="residents.import_check", time_limit=_LIMIT)
def import_check(job_id: int) -> None:
    services.import_job_check(job_id=job_id)


@shared_task(name="residents.import_commit", time_limit=_LIMIT)
def import_commit(job_id: int) -> None:
    services.import_job_commit(job_id=job_id)


@shared_task(name="residents.purge_import_files")
def purge_import_files() -> str:
    """Hourly: uploaded lists left behind for more than a day are deleted. Idempotent."""
    deleted, ended = services.import_files_purge(older_than=datetime.timedelta(days=1))
    return f"deleted {deleted} files, ended {ended} jobs"


@shared_task(name="residents.expire_import_jobs")
def expire_import_jobs() -> str:
    """Every minute: imports whose worker died are failed, so their page offers the retry."""
    return f"failed {services.import_jobs_expire()} stalled imports"


@shared_task(name="residents.deliver_link_code")
def deliver_link_code(code_id: int) -> str:
    """Queued on commit by a request for a code through an ordering or household link: look
    the number up at its door and text it a code, or nothing (idempotent)."""
    return codes.code_deliver(code_id=code_id)


@shared_task(name="residents.purge_link_codes")
def purge_link_codes() -> str:
    """Daily: link codes older than a day are deleted."""
    return f"deleted {codes.codes_purge()} link codes"


# residents.codes queues a lookup through this hook rather than importing this module back.
codes.queue_lookup = deliver_link_code.delay
