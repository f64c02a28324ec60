from celery import shared_task

from . import services


@shared_task(name="residents.import_check")
def import_check(job_id: int) -> None:
    services.import_job_check(job_id=job_id)


@shared_task(name="residents.import_commit")
def import_commit(job_id: int) -> None:
    services.import_job_commit(job_id=job_id)
