"""An import whose worker dies: its heartbeat stops, its lease runs out, the page says it failed
and offers the retry, and the retry writes the list once, all or nothing (issue 16)."""

import datetime
import threading

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from residents import services
from residents.importing import write as import_write
from residents.models import Household, ImportJob, Resident
from tests.residents.helpers import write_xlsx
from tests.residents.test_import import good_rows
from wuyi.lib import pgcopy

START = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _lease(settings):
    settings.WUYI_IMPORT_LEASE_SECONDS = 180
    # This process's own cache: heartbeats of another test process's job 1 are not ours.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "import-lease-tests",
        }
    }
    cache.clear()


def checked_job(secretary_a, compound_a, tmp_path) -> ImportJob:
    """A four-row list, checked (the preview), as the secretary leaves it before Import."""
    path = write_xlsx(tmp_path / "居民.xlsx", good_rows())
    with path.open("rb") as fh:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("居民.xlsx", fh.read())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    job = services.import_job_check(job_id=job.pk)
    assert job.state == ImportJob.State.CHECKED
    return job


def status_of(client, job) -> str:
    return client.get(reverse("residents:import_job", args=[job.pk])).content.decode()


def test_a_commit_whose_worker_never_reports_fails_after_the_lease_and_the_retry_works(
    login, secretary_a, compound_a, tmp_path
):
    client = login(secretary_a)
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        # The secretary clicked Import; the task went to a worker that was killed at once.
        assert services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
        clock.move_to(START + datetime.timedelta(seconds=179))
        page = status_of(client, job)
        assert "<progress" in page and "import_retry" not in page
        clock.move_to(START + datetime.timedelta(seconds=181))
        page = status_of(client, job)
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED
        assert "后台进程" in page and "没有写入任何数据" in page and "<progress" not in page
        assert reverse("residents:import_retry", args=[job.pk]) in page
        assert not Resident.objects.exists()

        response = client.post(reverse("residents:import_retry", args=[job.pk]))
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.state == ImportJob.State.DONE and "stalled" not in job.report
        assert Resident.objects.count() == 4
        # A second click changes nothing and says why.
        client.post(reverse("residents:import_retry", args=[job.pk]))
        assert Resident.objects.count() == 4
        assert "没有中途停止" in status_of(client, job)


def test_a_worker_killed_halfway_through_the_write_leaves_nothing_and_the_retry_imports_once(
    login, secretary_a, compound_a, tmp_path, monkeypatch
):
    """The worker dies after the households and the first residents were written: the
    transaction takes them all back, the job stays "importing" until its lease runs out."""
    sink = import_write.CopySink if pgcopy.available() else import_write.OrmSink
    real = sink.insert
    calls = []

    class WorkerKilled(BaseException):
        """What SIGKILL does to the run: nothing after this line, no except clause."""

    def dying_insert(self, model, *args, **kwargs):
        ids = real(self, model, *args, **kwargs)
        calls.append(model)
        if model is Resident:
            raise WorkerKilled
        return ids

    client = login(secretary_a)
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        assert services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
        monkeypatch.setattr(sink, "insert", dying_insert)
        with pytest.raises(WorkerKilled):
            services.import_job_commit(job_id=job.pk)
        monkeypatch.setattr(sink, "insert", real)
        assert Household in calls and Resident in calls  # it had written both
        assert not Household.objects.exists() and not Resident.objects.exists()
        job.refresh_from_db()
        assert job.state == ImportJob.State.IMPORTING

        clock.move_to(START + datetime.timedelta(minutes=4))
        assert services.import_jobs_expire() == 1
        assert services.import_jobs_expire() == 0  # once
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and job.report["retry"] == "commit"

        client.post(reverse("residents:import_retry", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == ImportJob.State.DONE
        assert Resident.objects.count() == 4 and Household.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_check_that_keeps_reporting_is_not_failed(secretary_a, compound_a, tmp_path):
    """The check phase writes its heartbeat to the job row as it goes (no transaction holds
    it: hence a transactional test)."""
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.CHECKING)
        clock.move_to(START + datetime.timedelta(minutes=2))
        services.import_job_heartbeat(job_id=job.pk)
        clock.move_to(START + datetime.timedelta(minutes=4))
        assert services.import_jobs_expire() == 0
        job.refresh_from_db()
        assert job.heartbeat_at == START + datetime.timedelta(minutes=2)
        clock.move_to(START + datetime.timedelta(minutes=5, seconds=1))
        cache.clear()
        assert services.import_jobs_expire() == 1
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and job.report["retry"] == "check"


def test_a_heartbeat_inside_the_commit_goes_to_the_cache_only(secretary_a, compound_a, tmp_path):
    """Inside the import's transaction the row cannot show it: the cache does."""
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
        clock.move_to(START + datetime.timedelta(minutes=2))
        with transaction.atomic():
            services.import_job_heartbeat(job_id=job.pk)
        job.refresh_from_db()
        assert job.heartbeat_at == START
        clock.move_to(START + datetime.timedelta(minutes=4))
        assert services.import_jobs_expire() == 0
        assert ImportJob.objects.get(pk=job.pk).state == ImportJob.State.IMPORTING


@pytest.mark.django_db(transaction=True)
def test_a_commit_still_holding_its_job_is_never_failed(secretary_a, compound_a, tmp_path):
    """PostgreSQL: a live commit holds the job row in its transaction; the sweep skips it
    without waiting, whatever the heartbeat says."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    job = checked_job(secretary_a, compound_a, tmp_path)
    services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
    )
    cache.clear()  # no progress reported either
    holding, release = threading.Event(), threading.Event()

    def live_commit():
        try:
            with transaction.atomic():
                ImportJob.objects.select_for_update().get(pk=job.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    worker = threading.Thread(target=live_commit)
    worker.start()
    try:
        assert holding.wait(10)
        assert services.import_jobs_expire() == 0
    finally:
        release.set()
        worker.join()
    assert services.import_jobs_expire() == 1


def test_retry_permissions(login, secretary_a, secretary_b, district_staff, compound_a, tmp_path):
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
        clock.move_to(START + datetime.timedelta(minutes=10))
        services.import_jobs_expire()
        url = reverse("residents:import_retry", args=[job.pk])
        assert login(secretary_b).post(url).status_code == 404
        assert login(district_staff).post(url).status_code == 403
        assert login(district_staff).get(url).status_code == 405
        # District staff read the failure but are not offered the retry.
        assert url not in status_of(login(district_staff), job)
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED and not Resident.objects.exists()


def test_retry_after_the_file_was_purged_asks_for_the_list_again(
    login, secretary_a, compound_a, tmp_path
):
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)
        clock.move_to(START + datetime.timedelta(minutes=10))
        services.import_jobs_expire()
        job.refresh_from_db()
        from pathlib import Path

        Path(job.path).unlink()
        client = login(secretary_a)
        client.post(reverse("residents:import_retry", args=[job.pk]))
        assert "请重新上传" in status_of(client, job)
        job.refresh_from_db()
        assert job.state == ImportJob.State.FAILED


def test_a_queued_job_no_worker_takes_fails_and_its_check_is_retried(
    login, secretary_a, compound_a, tmp_path, settings
):
    settings.WUYI_IMPORT_BACKGROUND_BYTES = 10**9  # the retry runs in the request
    with time_machine.travel(START, tick=False) as clock:
        job = checked_job(secretary_a, compound_a, tmp_path)
        ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED, heartbeat_at=None)
        clock.move_to(START + datetime.timedelta(minutes=3, seconds=1))
        client = login(secretary_a)
        page = status_of(client, job)
        assert "import_retry" in page or reverse("residents:import_retry", args=[job.pk]) in page
        client.post(reverse("residents:import_retry", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == ImportJob.State.CHECKED and job.report["new"] == 4
        assert not Resident.objects.exists()


def test_beat_runs_the_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["expire-import-jobs"]
    assert entry["task"] == "residents.expire_import_jobs"
    assert entry["schedule"].total_seconds() <= 60


def test_the_broker_gives_a_task_back_only_after_the_longest_task_could_end():
    """On Redis the visibility timeout is set, and longer than an import's hard time limit and
    an SMS batch's longest run; otherwise a task still running would be started again."""
    import json
    import subprocess
    import sys

    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'wuyi.settings';"
        "from django.conf import settings as s;"
        "print(json.dumps([s.CELERY_BROKER_TRANSPORT_OPTIONS, s.WUYI_IMPORT_MAX_SECONDS,"
        " s.WUYI_SMS_BATCH_SIZE, s.WUYI_SMS_HTTP_BATCH, s.WUYI_SMS_TIMEOUT]))"
    )
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    out = subprocess.run(  # noqa: S603 - our own settings, fixed arguments
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    options, import_max, batch, per_call, timeout = json.loads(out.splitlines()[-1])
    from residents.tasks import _LIMIT

    assert import_max + 120 == _LIMIT
    sms_batch = -(-batch // per_call) * timeout
    assert options["visibility_timeout"] > max(_LIMIT, sms_batch)
