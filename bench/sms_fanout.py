"""SMS fan-out: a city-wide campaign from "send" to every recipient sent, against one Celery
task per SMS measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench_msg \
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/sms_fanout.py \
        [--recipients 1000000] [--naive 2000] [--dispatchers 0] [--batch-size 5000] \
        [--concurrency 3] [--variants]

1. A fake SMS gateway in its own process on loopback (tests/messaging/gateway.py), speaking
   the HTTP backend's protocol and counting every number it accepts; a real Redis broker; a real
   `celery worker` (prefork, --concurrency processes) in its own process.
2. Baseline: a naive design, one Celery task per SMS (bench/sms_naive.py: load the row, call
   the gateway with one number, mark it sent), on a slice of --naive recipients: timed from the
   first task queued to the last row sent.
3. Ours: messaging.services.send_sms() with --recipients numbers (written with COPY), which
   queues the dispatch when it commits, as in production; the worker dispatches (queuing
   itself again behind its batches while more is due) and sends the batches: timed from the
   call to send_sms to the last row marked sent. --dispatchers K (K > 0): K `manage.py
   sms_dispatch --wait` processes claim instead (with several, each on its own partition of
   the ids). Lost: numbers the gateway never accepted; doubled: numbers it accepted more than
   once. Peak RSS: the largest of this process (which wrote the campaign), the dispatchers and
   the worker's processes.
4. --variants: the same campaign again with one and two dispatcher processes, and with
   batches of 1,000 and of 20,000, to see what the claim loop and the batch size weigh.

Targets: at least 100x the naive rate, 0 lost, 0 doubled, peak RSS under 300 MB. The last line
is `sms_fanout: R recipients/s, X x naive, lost L, doubled D, peak RSS M MB`; exit 1 when a
target is missed.

--smoke: 5,000 recipients, a naive slice of 200, in the smoke database; lost, doubled and peak
RSS are judged, the ratio is not.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

ROOT = benchdb.ROOT
SECRET = "bench-gateway-secret"  # noqa: S105 - the fake gateway's, on loopback
PHONE_BASE = 15_000_000_000  # the campaign: 150xxxxxxxx
NAIVE_BASE = 19_900_000_000  # the baseline's slice
TARGET_RATIO = 100
TARGET_RSS_MB = 300


def post(url: str, payload: dict) -> dict:
    from messaging.backends.base import sign

    body = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 - our loopback gateway
        url, data=body, headers={"Content-Type": "application/json", **sign(SECRET, body)}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def stats(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def start_gateway() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.gateway", "--port", "0", "--secret", SECRET],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()
    return process, url


def start_worker(env: dict, concurrency: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "wuyi",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "-Q",
            env["WUYI_SMS_QUEUE"],
            "-I",
            "sms_naive",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT / "bench")},
        stdout=subprocess.DEVNULL,
    )


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process and its children (the worker's pool), the largest, in MB."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    peak = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE messaging_recipient, messaging_batch, messaging_message RESTART IDENTITY"
        )


def place():
    """The bench's community (every SMS is charged to one), with a budget a city's campaign
    fits in."""
    from decimal import Decimal

    from compounds.models import Community, Compound, District, Subdistrict
    from messaging.models import Budget

    district, _ = District.objects.get_or_create(code="BENCHF-D", defaults={"name": "短信基准区"})
    sub, _ = Subdistrict.objects.get_or_create(
        code="BENCHF-S", defaults={"name": "短信基准街道", "district": district}
    )
    community, _ = Community.objects.get_or_create(
        code="BENCHF-C", defaults={"name": "短信基准社区", "subdistrict": sub}
    )
    compound, _ = Compound.objects.get_or_create(
        code="BENCHF-K", defaults={"name": "短信基准小区", "community": community}
    )
    Budget.objects.update_or_create(
        community=community, defaults={"monthly_amount": Decimal("90000000")}
    )
    return compound


def template():
    from messaging.models import SmsTemplate

    found, _ = SmsTemplate.objects.get_or_create(
        name="基准核酸检测通知",
        defaults={
            "code": "SMS_BENCH",
            "body": "明日8:00在{gate}开展第{round}轮核酸检测，请携带身份证按时参加。",
            "approved": True,
        },
    )
    return found


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"sms_fanout: timed out waiting for {what}")
        time.sleep(0.25)


def naive(n: int, env: dict, url: str) -> float:
    from django.conf import settings
    from sms_naive import send_one

    from messaging import services
    from messaging.models import Recipient

    settings.WUYI_SMS_DISPATCH_ON_SEND = False  # its own task per SMS sends them
    truncate()
    post(f"{url}/control", {"reset": True})
    message = services.send_sms(
        to=(str(NAIVE_BASE + i) for i in range(n)),
        template=template(),
        variables={"gate": "东门", "round": "3"},
        purpose="bench-naive",
        place=place(),
        idempotency_key=f"bench-naive-{uuid.uuid4().hex}",
    )
    ids = list(Recipient.objects.filter(message=message).values_list("id", flat=True))
    started = time.perf_counter()
    for pk in ids:
        send_one.apply_async((pk,), queue=env["WUYI_SMS_QUEUE"])
    sent = Recipient.objects.filter(message=message, status="sent")
    wait_until(lambda: sent.count() >= n, 3600, "the naive tasks")
    seconds = time.perf_counter() - started
    return n / seconds


def ours(n: int, env: dict, url: str, *, dispatchers: int, batch_size: int) -> dict:
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from messaging import services, tasks

    # --dispatchers 0: the production path, the dispatch queued when the message commits.
    settings.WUYI_SMS_DISPATCH_ON_SEND = not dispatchers
    # A dispatch an earlier bench left queued on its own worker's queue (stopped before it
    # began) would hold this one back for tasks.QUEUED_SECONDS.
    cache.delete_many([tasks.QUEUED_KEY, tasks.RECENT_KEY])
    truncate()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_recipient")
    post(f"{url}/control", {"reset": True})
    started = time.perf_counter()
    message = services.send_sms(
        to=(str(PHONE_BASE + i) for i in range(n)),
        template=template(),
        variables={"gate": "东门", "round": "3"},
        purpose="bench",
        place=place(),
        idempotency_key=f"bench-{uuid.uuid4().hex}",
    )
    written = time.perf_counter() - started
    if not dispatchers:
        # As in production: send_sms queued tasks.dispatch on commit, the worker dispatches
        # (and queues itself again behind its batches while more is due).
        return _finished(n, url, message, started, written, None, ["the worker's"])
    command = [
        sys.executable,
        "manage.py",
        "sms_dispatch",
        "--wait",
        "--batch-size",
        str(batch_size),
        "--max-pending",
        "8",
    ]
    procs = [
        subprocess.Popen(
            command + (["--partition", f"{k}/{dispatchers}"] if dispatchers > 1 else []),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(dispatchers)
    ]
    lines = []
    for proc in procs:
        out, _ = proc.communicate(timeout=7200)
        lines.append(out.strip().splitlines()[-1] if out.strip() else "")
    dispatched = time.perf_counter() - started
    return _finished(n, url, message, started, written, dispatched, lines)


def _finished(n, url, message, started, written, dispatched, lines) -> dict:
    from messaging.models import Recipient

    wait_until(lambda: stats(url)["distinct"] >= n, 3600, "the gateway to receive every number")
    pending = Recipient.objects.filter(message=message).exclude(status="sent")
    wait_until(lambda: not pending.exists(), 600, "every row to be marked sent")
    seconds = time.perf_counter() - started
    got = stats(url)
    return {
        "rate": n / seconds,
        "seconds": seconds,
        "written": written,
        "dispatched": dispatched,
        "lost": n - got["distinct"],
        "doubled": got["doubled"],
        "calls": got["calls"],
        "dispatchers": lines,
    }


def claimed(found: dict) -> str:
    if found["dispatched"] is None:
        return "claimed by the worker as it went"
    return f"all claimed at {found['dispatched']:.1f} s"


def dispatch_text(dispatchers: int) -> str:
    if not dispatchers:
        return "dispatched by the worker (queued on commit)"
    return f"{dispatchers} sms_dispatch process(es)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=2000)
    parser.add_argument("--dispatchers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a small campaign, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.recipients, args.naive, args.variants = 5000, 200, False
    if not os.environ.get("REDIS_URL"):
        sys.exit("sms_fanout needs a real broker: set REDIS_URL (e.g. redis://127.0.0.1:6379/5)")
    queue = f"bench-sms-{os.getpid()}"
    gateway, url = start_gateway()
    os.environ.update(
        {
            "WUYI_SMS_BACKEND": "http",
            "WUYI_SMS_HTTP_URL": url,
            "WUYI_SMS_HTTP_SECRET": SECRET,
            "WUYI_SMS_QUEUE": queue,
            # The worker's own dispatches (--dispatchers 0) claim batches of this size.
            "WUYI_SMS_BATCH_SIZE": str(args.batch_size),
            "WUYI_SMS_QUIET_HOURS": "",
            # The provider's rate limit would bound the figure by design: off here.
            "WUYI_SMS_RATE_LIMIT": "0",
            "WUYI_SMS_TIMEOUT": "30",
            # Celery closes the database connection after every task unless told otherwise: a
            # new connection per SMS would make the naive baseline slower than it need be.
            "WUYI_CELERY_DB_REUSE_MAX": "1000",
        }
    )
    print(f"database: {benchdb.setup(smoke=args.smoke)}, gateway {url}, queue {queue}", flush=True)
    env = dict(os.environ)
    worker = start_worker(env, args.concurrency)
    rss = 0.0
    try:
        from wuyi.celery import app

        # The worker up and its pool warm before anything is timed.
        wait_until(lambda: bool(app.control.ping(timeout=0.5)), 120, "the worker to start")
        base = naive(args.naive, env, url)
        print(
            f"naive: one task per SMS, {args.naive:,} recipients: {base:,.0f} recipients/s",
            flush=True,
        )
        configs = [(args.dispatchers, args.batch_size)]
        if args.variants:
            configs += [(1, args.batch_size), (2, args.batch_size), (1, 1000), (1, 20000)]
        results = []
        for dispatchers, batch_size in configs:
            found = ours(args.recipients, env, url, dispatchers=dispatchers, batch_size=batch_size)
            results.append(found)
            print(
                f"ours: {args.recipients:,} recipients, {dispatch_text(dispatchers)}, batches of "
                f"{batch_size:,}: {found['rate']:,.0f} recipients/s ({found['seconds']:.1f} s: "
                f"written in {found['written']:.1f} s, {claimed(found)}; "
                f"{found['calls']:,} gateway calls); lost {found['lost']}, doubled "
                f"{found['doubled']}; dispatcher: {' | '.join(found['dispatchers'])}",
                flush=True,
            )
        rss = max(
            peak_rss_mb(worker.pid),
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        )
    finally:
        stop(worker)
        gateway.stdin.close()
        stop(gateway)
    main_result = results[0]
    ratio = main_result["rate"] / base
    ok = {
        "ratio": ratio >= TARGET_RATIO,
        "lost": all(r["lost"] == 0 for r in results),
        "doubled": all(r["doubled"] == 0 for r in results),
        "rss": rss < TARGET_RSS_MB,
    }
    speed = {"ratio"}
    verdict = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print(
        f"targets: >= {TARGET_RATIO}x naive, 0 lost, 0 doubled, peak RSS < {TARGET_RSS_MB} MB: "
        + verdict
    )
    print(
        f"sms_fanout: {main_result['rate']:,.0f} recipients/s, {ratio:.0f} x naive, "
        f"lost {sum(r['lost'] for r in results)}, doubled {sum(r['doubled'] for r in results)}, "
        f"peak RSS {rss:.0f} MB: {verdict}"
    )
    sys.exit(0 if benchdb.verdict(ok, speed=speed, smoke=args.smoke) else 1)


if __name__ == "__main__":
    main()
