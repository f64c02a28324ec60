"""Faults with a real broker and a real worker: Redis, `celery worker` in a process of its own
(killed with SIGKILL in one test), and the fake gateway on loopback counting every number it
accepts. CI sets REDIS_URL and runs on PostgreSQL; elsewhere these are skipped."""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from messaging import outbox, services
from messaging.models import Batch, Recipient, SmsTemplate
from messaging.tasks import publish_batch
from tests.factories import CompoundFactory
from tests.messaging.gateway import Gateway

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no real broker to test against"
    ),
    pytest.mark.django_db(transaction=True),
    # The worker in its own process reads the real clock: WUYI_TEST_NOW leaves these alone.
    pytest.mark.real_clock,
]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-secret"
LEASE = 30


@pytest.fixture(autouse=True)
def _postgres():
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("a worker process cannot see SQLite's in-memory test database")


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def gateway():
    gw = Gateway(secret=SECRET)
    server = gw.serve()
    gw.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield gw
    gw.release.set()
    server.shutdown()


@pytest.fixture
def sms(settings, gateway, request):
    """The test process and its workers on the HTTP backend, on a queue of their own."""
    queue = f"wuyi-sms-test-{os.getpid()}-{request.node.name[:40]}"
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "WUYI_SMS_BACKEND": "http",
        "WUYI_SMS_HTTP_URL": gateway.url,
        "WUYI_SMS_HTTP_SECRET": SECRET,
        "WUYI_SMS_HTTP_BATCH": "100",
        "WUYI_SMS_TIMEOUT": "1",
        "WUYI_SMS_RATE_LIMIT": "0",
        "WUYI_SMS_QUIET_HOURS": "",
        "WUYI_SMS_QUEUE": queue,
        "WUYI_SMS_LEASE_SECONDS": str(LEASE),
    }
    for name, value in env.items():
        if name.startswith("WUYI_SMS_"):
            setattr(settings, name, int(value) if value.isdigit() else value)
    settings.WUYI_SMS_TIMEOUT = 1.0
    return {**os.environ, **env}


class Worker:
    """`celery worker` in its own process (solo pool), on the test's queue."""

    def __init__(self, env: dict) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "wuyi",
                "worker",
                "-P",
                "solo",
                "-Q",
                env["WUYI_SMS_QUEUE"],
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        """As a machine losing power would: no goodbye, no ack."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers():
    started: list[Worker] = []

    def _start(env):
        worker = Worker(env)
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


def wait_for(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def campaign(n: int) -> list[str]:
    template = SmsTemplate.objects.create(
        name="核酸检测通知",
        code="SMS_1",
        body="明日8:00在{gate}开展第{round}轮核酸检测。",
        approved=True,
    )
    phones = [f"1370000{i:04d}" for i in range(n)]
    services.send_sms(
        to=phones,
        template=template,
        variables={"gate": "东门", "round": "3"},
        purpose="t",
        idempotency_key="f",
        place=CompoundFactory(),
    )
    return phones


def all_sent() -> bool:
    return not Recipient.objects.exclude(status="sent").exists()


def test_the_broker_down_loses_nothing(sms, gateway, workers):
    phones = campaign(50)
    down = {**sms, "REDIS_URL": "redis://127.0.0.1:1/5"}  # nothing listens on port 1
    run = subprocess.run(
        [sys.executable, "manage.py", "sms_dispatch"],
        cwd=ROOT,
        env=down,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "broker is unavailable" in run.stdout.strip().splitlines()[-1]
    assert Recipient.objects.filter(status="queued", attempts=0, batch=None).count() == 50
    assert not Batch.objects.filter(state__in=["claimed", "running"]).exists()
    # The broker is back: the same command, a worker, and every SMS goes once.
    workers(sms)
    run = subprocess.run(
        [sys.executable, "manage.py", "sms_dispatch"],
        cwd=ROOT,
        env=sms,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert run.stdout.strip().splitlines()[-1].startswith("dispatched 50 recipients in 1 batches")
    wait_for(all_sent)
    assert {p: gateway.accepted[p] for p in phones} == dict.fromkeys(phones, 1)


def test_a_worker_killed_mid_batch_sends_each_sms_once(sms, gateway, workers):
    phones = campaign(250)
    gateway.hold = True  # the first call is accepted, then its answer never comes
    outbox.dispatch(publish=publish_batch, batch_size=250)
    first = workers(sms)
    wait_for(gateway.holding.is_set, 60)
    first.kill()
    gateway.hold = False
    gateway.release.set()
    assert sum(gateway.accepted.values()) == 100  # the first call of the batch
    batch = Batch.objects.get()
    assert batch.state == "running" and batch.inflight_low is not None

    workers(sms)
    # Past the lease: recovery asks the gateway about the call in flight, queues the rest.
    later = timezone.now() + datetime.timedelta(seconds=LEASE + 1)
    report = outbox.dispatch(publish=publish_batch, now=later, batch_size=250)
    assert report.recovered == 250 and report.dispatched == 150
    wait_for(all_sent)
    assert {p: gateway.accepted[p] for p in phones} == dict.fromkeys(phones, 1)
    assert {p: gateway.submitted[p] for p in phones} == dict.fromkeys(phones, 1)


def test_only_the_failed_part_of_a_batch_is_retried(sms, gateway, workers):
    phones = campaign(300)
    retry = set(phones[:10])
    gateway.retry_once |= retry  # call 1: ten numbers "try later"
    gateway.fail_calls.add(2)  # call 2: 503, nothing accepted
    gateway.slow_calls[3] = 3.0  # call 3: accepted, answered after the client's timeout
    outbox.dispatch(publish=publish_batch, batch_size=300)
    workers(sms)
    wait_for(lambda: Batch.objects.filter(state="done").exists())
    statuses = dict(Recipient.objects.values_list("phone", "status"))
    again = retry | set(phones[100:200])
    assert {p for p, s in statuses.items() if s == "queued"} == again
    assert Recipient.objects.filter(status="queued", due_at__gt=timezone.now()).count() == 110
    # After the backoff only those go again; call 3's numbers, in doubt, were not resent.
    outbox.dispatch(
        publish=publish_batch, now=timezone.now() + datetime.timedelta(minutes=10), batch_size=300
    )
    wait_for(all_sent)
    assert {p: gateway.accepted[p] for p in phones} == dict.fromkeys(phones, 1)
    assert {p for p in phones if gateway.submitted[p] == 2} == again
    assert all(gateway.submitted[p] == 1 for p in set(phones) - again)
