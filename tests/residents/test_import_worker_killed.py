"""A real Celery worker killed (SIGKILL) in the middle of a resident import, on Redis and
PostgreSQL: nothing is left of the half-written list, the lease fails the job, the page says so
and the retry imports every row once (issue 16)."""

import csv
import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from compounds.models import Building
from residents import services, tasks
from residents.models import Household, ImportJob, Resident
from tests.residents.helpers import HEADER, make_id

ROOT = Path(__file__).resolve().parents[2]
ROWS = 24_000
PER_HOUSEHOLD = 4
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红娥玲芬燕彬鹏飞宇浩然轩涵"
ROOMS = [
    (unit, f"{floor}{door:02d}") for unit in (1, 2, 3) for floor in range(1, 19) for door in (1, 2)
]

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no real broker to kill on"
    ),
    pytest.mark.django_db(transaction=True),
]


def big_list(path: Path, compound) -> Path:
    """ROWS residents, four to a flat, in as many buildings as it takes."""
    households = ROWS // PER_HOUSEHOLD
    buildings = households // len(ROOMS) + 1
    Building.objects.bulk_create(
        Building(compound=compound, number=str(n), unit_count=3, floor_count=18)
        for n in range(3, buildings + 3)
    )
    born = datetime.date(1950, 1, 1)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(ROWS):
            household, member = divmod(n, PER_HOUSEHOLD)
            building, within = divmod(household, len(ROOMS))
            unit, room = ROOMS[within]
            day = born + datetime.timedelta(days=n // 5)
            national_id = make_id(n % 5, day.strftime("%Y%m%d"), female=bool(n % 2))
            name = "张" + GIVEN[n % len(GIVEN)] + GIVEN[n // len(GIVEN) % len(GIVEN)]
            writer.writerow(
                [n + 1, name, "女" if n % 2 else "男", national_id, "",
                 building + 3, unit, room, "户主" if member == 0 else "子女", "", ""]
            )  # fmt: skip
    return path


def sequence_moved(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT is_called FROM {table}_id_seq")  # noqa: S608 - a fixed name
        return bool(cursor.fetchone()[0])


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.02)


def start_worker(queue: str, log: Path) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_CONN_MAX_AGE": "0"}
    return subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [sys.executable, "-m", "celery", "-A", "wuyi", "worker", "--pool=solo", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        start_new_session=True,
    )  # fmt: skip


def test_a_killed_worker_leaves_nothing_and_the_retry_imports_every_row_once(
    login, secretary_a, compound_a, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: PostgreSQL")
    settings.WUYI_IMPORT_BACKGROUND_BYTES = 10**9  # the retry runs in the request
    path = big_list(tmp_path / "居民.csv", compound_a)
    job = services.import_job_create(
        by=secretary_a,
        community=compound_a.community,
        compound=compound_a,
        upload=SimpleUploadedFile("居民.csv", path.read_bytes()),
    )
    job = services.import_job_check(job_id=job.pk)
    assert job.state == ImportJob.State.CHECKED and job.report["new"] == ROWS, job.report
    assert services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=False)

    queue = f"test-kill-{uuid.uuid4().hex}"
    worker = start_worker(queue, tmp_path / "worker.log")
    try:
        tasks.import_commit.apply_async(args=[job.pk], queue=queue)
        # Households are written first, then residents: kill once both are under way.
        wait_for(lambda: sequence_moved("residents_household"), 120, "the households")
        assert not Resident.objects.exists(), "the worker finished before it was killed"
        wait_for(lambda: sequence_moved("residents_resident"), 60, "the residents")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    assert not Resident.objects.exists() and not Household.objects.exists()
    job.refresh_from_db()
    assert job.state == ImportJob.State.IMPORTING

    client = login(secretary_a)
    page_url = reverse("residents:import_job", args=[job.pk])
    later = timezone.now() + datetime.timedelta(seconds=settings.WUYI_IMPORT_LEASE_SECONDS + 60)
    with time_machine.travel(later, tick=True):
        # The dead worker's connection may take a moment to close and drop its row lock;
        # reading the page runs the lease check.
        def failed() -> bool:
            client.get(page_url)
            return ImportJob.objects.get(pk=job.pk).state == ImportJob.State.FAILED

        wait_for(failed, 20, "the lease to fail the job")
        page = client.get(page_url).content.decode()
        assert "导入已中断" in page and "没有写入任何数据" in page
        client.post(reverse("residents:import_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.report
    assert Resident.objects.count() == ROWS
    assert Household.objects.count() == ROWS // PER_HOUSEHOLD
    assert Resident.objects.values("id_hash").distinct().count() == ROWS
