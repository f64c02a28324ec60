"""Overdue sweeps under contention: three at once over 5,000 rounds, while other SMS of the same
communities must still go out at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wuyi_bench .venv/bin/python \
        bench/sms_contention.py [--rounds 5000] [--naive 500] [--smoke]

The bench works in a database of its own: the name in DATABASE_URL (default wuyi_bench) with
`_contention` appended.

1. Two communities (BENCHC-*), one compound each with 10 disinfection areas and a cleaner with a
   phone, and --rounds overdue rounds between them (window ended 2 to 45 minutes ago, none
   reminded yet). The rounds and the bench's SMS are made afresh each run, the tables analysed.
2. Idle: a handover code and a volunteer's login link of each community, with nothing else
   running: how long queuing one takes (median).
3. Ours: three `sanitation.services.rounds_remind_overdue()` in three processes (forked from
   the bench after set-up, each with its own database connection) started together.
   Meanwhile, once the sweeps are writing reminders, a handover code (messaging's send_sms as
   supplies.notify sends it) and a login link (volunteers.notify.login_link_sms) of each
   community, each timed.
4. Baseline in the same run, the shape the sweep had: one process claiming --naive rounds in one
   transaction and queuing each round's reminder inside it (so the budget row the first
   reminder charged stays locked until the COMMIT); the same unrelated SMS timed meanwhile.

Targets: no sweep crashed or deadlocked, every round reminded exactly once (one message per
round and cleaner, the three sweeps' counts adding up), each unrelated SMS during the sweeps
queued in under 1 s. Printed for comparison: the unrelated SMS against idle and against the
baseline, the sweep's rounds a second against the baseline's. The last line sums it up; exit 1
when a target is missed. --smoke: 500 rounds, a baseline of 100.
"""

import argparse
import datetime
import os
import statistics
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")

import benchdb

AREAS = 10
SWEEPS = 3
TARGET_SECONDS = 1.0
PREFIX = "BENCHC"
HANDOVER = "配送交接码"


def own_database() -> None:
    """DATABASE_URL with `_contention` appended to its database name (its own tables)."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL") or benchdb.DEFAULT_URL
    name = str(dj_database_url.parse(url)["NAME"])
    if not name.endswith("_contention"):
        head, _sep, query = url.partition("?")
        url = head[: len(head) - len(name)] + name + "_contention" + (f"?{query}" if query else "")
    os.environ["DATABASE_URL"] = url


# ----------------------------------------------------------------------------- set-up


def ensure_places():
    """Two communities, a compound each with AREAS areas, a cleaner and a volunteer with a phone,
    the texts approved, budgets the run fits in (made once)."""
    from decimal import Decimal

    from accounts.models import Role, User
    from compounds.models import Community, Compound, District, Subdistrict
    from messaging.models import Budget, SmsTemplate
    from sanitation import notify as sanitation_notify
    from sanitation.models import Area
    from volunteers import notify as volunteers_notify
    from volunteers.models import Volunteer

    district, _ = District.objects.get_or_create(
        code=f"{PREFIX}-D", defaults={"name": "争用基准区"}
    )
    sub, _ = Subdistrict.objects.get_or_create(
        code=f"{PREFIX}-S", defaults={"name": "争用基准街道", "district": district}
    )
    compounds = []
    for n in (1, 2):
        community, _ = Community.objects.get_or_create(
            code=f"{PREFIX}-C{n}", defaults={"name": f"争用基准社区{n}", "subdistrict": sub}
        )
        compound, _ = Compound.objects.get_or_create(
            code=f"{PREFIX}-K{n}", defaults={"name": f"争用基准小区{n}", "community": community}
        )
        Budget.objects.update_or_create(
            community=community,
            defaults={
                "monthly_amount": Decimal("10000000"),
                "system_amount": Decimal("10000000"),
            },
        )
        for a in range(AREAS):
            Area.objects.get_or_create(
                compound=compound,
                name=f"{n}号区域{a + 1}",
                defaults={"kind": "lift", "method": "wipe", "times": ["08:00"]},
            )
        for role, phone in (("cleaner", f"1390000{n}001"), ("volunteer", f"1390000{n}002")):
            user, _ = User.objects.get_or_create(
                username=f"bench_contention_{role}{n}", defaults={"role": Role.VOLUNTEER}
            )
            Volunteer.objects.get_or_create(
                user=user, defaults={"community": community, "name": f"{role}{n}", "phone": phone}
            )
        compounds.append(compound)
    for name in (sanitation_notify.OVERDUE, sanitation_notify.ESCALATED):
        SmsTemplate.objects.filter(name=name).update(code="SMS_BENCH", approved=True)
    SmsTemplate.objects.filter(name__in=[HANDOVER, volunteers_notify.LOGIN_LINK]).update(
        code="SMS_BENCH", approved=True
    )
    return compounds


def reset(compounds, count: int) -> None:
    """The bench's rounds and SMS of earlier runs gone; `count` fresh overdue rounds, half in
    each compound, spread over its areas; the tables analysed."""
    from django.db import connection, transaction
    from django.utils import timezone

    from messaging.models import Message, Recipient
    from sanitation.models import Area, Round
    from volunteers.models import Volunteer

    now = timezone.now()
    with transaction.atomic():
        mine = Message.objects.filter(community__in=[c.community_id for c in compounds])
        Recipient.objects.filter(message__in=mine).delete()
        mine.delete()
        Round.objects.filter(compound__in=compounds).delete()
        rows = []
        for n, compound in enumerate(compounds):
            areas = list(Area.objects.filter(compound=compound).order_by("pk"))
            cleaner = Volunteer.objects.get(user__username=f"bench_contention_cleaner{n + 1}")
            share = count // len(compounds) + (1 if n < count % len(compounds) else 0)
            for k in range(share):
                area = areas[k % len(areas)]
                # Windows ended between 2 and 45 minutes ago, a second apart per area.
                ends = now - datetime.timedelta(minutes=2, seconds=k * 2700 // max(share, 1))
                ends -= datetime.timedelta(microseconds=k)
                rows.append(
                    Round(
                        area=area,
                        compound=compound,
                        date=timezone.localtime(ends).date(),
                        due_at=ends - datetime.timedelta(hours=1),
                        window_ends_at=ends,
                        assignee=cleaner,
                    )
                )
        Round.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        for table in ("sanitation_round", "messaging_message", "messaging_recipient"):
            cursor.execute(f"ANALYZE {table}")


# ----------------------------------------------------------------------------- the SMS we time


def unrelated(compound, tag: str) -> list[float]:
    """A handover code and a login link of the compound's community: seconds each took."""
    import uuid

    from messaging.models import Allowance
    from messaging.services import send_sms
    from volunteers import notify as volunteers_notify
    from volunteers.models import Volunteer

    took = []
    started = time.perf_counter()
    send_sms(
        to=f"1380000{compound.pk % 10}{len(tag):03d}",
        template=HANDOVER,
        variables={"code": "123456", "order": "1"},
        purpose="supplies_handover",
        idempotency_key=f"bench:contention:handover:{tag}:{uuid.uuid4().hex}",
        urgent=True,
        place=compound,
        allowance=Allowance.SYSTEM,
    )
    took.append(time.perf_counter() - started)
    volunteer = Volunteer.objects.select_related("community").get(
        user__username=f"bench_contention_volunteer{compound.code[-1]}"
    )
    started = time.perf_counter()
    queued = volunteers_notify.login_link_sms(
        by=None, volunteer=volunteer, token=uuid.uuid4().hex, site="https://wuyi.example"
    )
    took.append(time.perf_counter() - started)
    if not queued:
        raise SystemExit("sms_contention: the login link was not queued")
    return took


# ----------------------------------------------------------------------------- children


def _fresh_connections() -> None:
    """A forked process must not share the parent's database sockets: its own, from now on."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.inc_thread_sharing()
        conn.close()
        conn.dec_thread_sharing()


def child_sweep(go, out) -> None:
    """One sweep, in a forked process, once `go` is set; puts a dict on `out`."""
    _fresh_connections()
    from django.db import connections

    from sanitation import services

    go.wait(60)
    started = time.perf_counter()
    try:
        result = services.rounds_remind_overdue()
    except Exception as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
        sys.exit(1)
    finally:
        connections.close_all()
    out.put({"cleaners": result.cleaners, "seconds": time.perf_counter() - started})


def child_naive(go, out, charged, limit: int) -> None:
    """The sweep's old shape: claim in one transaction, queue each reminder inside it."""
    _fresh_connections()
    from django.db import connections, transaction
    from django.utils import timezone

    from sanitation import notify
    from sanitation.models import Round

    go.wait(60)
    started = time.perf_counter()
    now = timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            Round.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(done_at__isnull=True, reminded_at__isnull=True, window_ends_at__lte=now)
            .select_related("area", "compound", "assignee")
            .order_by("window_ends_at")[:limit]
        )
        Round.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
        for n, r in enumerate(due):
            sent += notify.round_overdue(r)
            if n == 0:  # the budget row is locked now (nothing is committed yet)
                charged.set()
    connections.close_all()
    out.put({"cleaners": sent, "seconds": time.perf_counter() - started})


def fork(target, *args):
    """A separate process, forked from this one (no second Django start-up to wait for)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()
    process = multiprocessing.get_context("fork").Process(target=target, args=args)
    process.start()
    return process


def during(compounds, procs, first_reminder) -> tuple[list[float], bool]:
    """Once reminders are being written, the unrelated SMS of both communities, timed; whether
    they were sent while the sweeps were still running."""
    deadline = time.monotonic() + 120
    while not first_reminder() and time.monotonic() < deadline:
        if not any(p.is_alive() for p in procs):
            break
        time.sleep(0.01)
    running = any(p.is_alive() for p in procs)
    took: list[float] = []
    for compound in compounds:
        took += unrelated(compound, f"during-{compound.pk}")
    return took, running


def run_sweeps(compounds, count: int) -> dict:
    import multiprocessing

    from messaging.models import Message

    reset(compounds, count)
    reminders = Message.objects.filter(
        community__in=[c.community_id for c in compounds], purpose="sanitation_overdue"
    )
    ctx = multiprocessing.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [fork(child_sweep, go, out) for _ in range(SWEEPS)]
    go.set()  # all three at once
    took, running = during(compounds, procs, reminders.exists)
    got = [out.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join(60)
    results = [g for g in got if "error" not in g]
    crashed = [g["error"] for g in got if "error" in g]
    crashed += [f"exit code {p.exitcode}" for p in procs if p.exitcode and not crashed]
    return {"took": took, "running": running, "results": results, "crashed": crashed}


def run_naive(compounds, count: int) -> dict:
    import multiprocessing

    reset(compounds, count)
    ctx = multiprocessing.get_context("fork")
    go, out, charged = ctx.Event(), ctx.Queue(), ctx.Event()
    proc = fork(child_naive, go, out, charged, count)
    box: dict = {}

    def measure():
        # Its reminders are not committed until the end: the child says when it charged.
        box["took"], box["running"] = during(compounds, [proc], charged.is_set)

    thread = threading.Thread(target=measure)
    go.set()
    thread.start()
    result = out.get(timeout=3600)
    proc.join(60)
    thread.join(600)
    if proc.exitcode:
        sys.exit("sms_contention: the baseline sweep failed")
    return {"result": result, **box}


def check_once(compounds, rounds: int) -> tuple[int, int, int]:
    """(rounds reminded, rounds with exactly one reminder, reminders in all)."""
    from django.db.models import Count

    from messaging.models import Message
    from sanitation.models import Round

    ids = dict(Round.objects.filter(compound__in=compounds).values_list("pk", "assignee_id"))
    reminded = Round.objects.filter(compound__in=compounds, reminded_at__isnull=False).count()
    keys = [f"sanitation:overdue:{pk}:{who}" for pk, who in ids.items()]
    found: dict[str, int] = {}
    for start_ in range(0, len(keys), 5000):
        found.update(
            Message.objects.filter(idempotency_key__in=keys[start_ : start_ + 5000])
            .values_list("idempotency_key")
            .annotate(n=Count("pk"))
        )
    total = Message.objects.filter(
        community__in=[c.community_id for c in compounds], purpose="sanitation_overdue"
    ).count()
    return reminded, sum(1 for k in keys if found.get(k) == 1), total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.naive = 500, 100
    own_database()
    print(f"database {benchdb.setup()}", flush=True)
    compounds = ensure_places()

    reset(compounds, 0)
    idle = [t for _ in range(3) for c in compounds for t in unrelated(c, f"idle-{c.pk}")]
    idle_ms = statistics.median(idle) * 1000
    print(f"idle: a handover code or a login link queued in {idle_ms:.1f} ms (median)", flush=True)

    print(
        f"ours: {SWEEPS} sweeps at once over {args.rounds:,} overdue rounds in 2 communities...",
        flush=True,
    )
    ours = run_sweeps(compounds, args.rounds)
    reminded, once, total = check_once(compounds, args.rounds)
    counted = sum(r["cleaners"] for r in ours["results"])
    slowest = max(r["seconds"] for r in ours["results"]) if ours["results"] else float("nan")
    worst = max(ours["took"]) if ours["took"] else float("nan")
    for n, r in enumerate(ours["results"]):
        print(f"  sweep {n + 1}: {r['cleaners']:,} reminders in {r['seconds']:.1f} s")
    for c in ours["crashed"]:
        print(f"  CRASHED: {c}")
    print(
        f"  rounds reminded {reminded:,} of {args.rounds:,}; exactly once {once:,}; reminders "
        f"written {total:,}; counted by the sweeps {counted:,}; all done in {slowest:.1f} s "
        f"({args.rounds / slowest:,.0f} rounds/s)"
    )
    print(
        "  unrelated SMS during the sweeps"
        + ("" if ours["running"] else " (the sweeps had finished: not measured under load)")
        + ": "
        + ", ".join(f"{t * 1000:.0f} ms" for t in ours["took"])
        + f"; worst {worst * 1000:.0f} ms = {worst * 1000 / idle_ms:.1f}x idle"
    )

    print(f"baseline: the old shape, one transaction over {args.naive:,} rounds...", flush=True)
    naive = run_naive(compounds, args.naive)
    naive_rate = naive["result"]["cleaners"] / naive["result"]["seconds"]
    naive_worst = max(naive.get("took") or [float("nan")])
    print(
        f"  {naive['result']['cleaners']:,} reminders in {naive['result']['seconds']:.1f} s "
        f"({naive_rate:,.0f} rounds/s); unrelated SMS meanwhile: "
        + ", ".join(f"{t * 1000:.0f} ms" for t in naive.get("took", []))
        + ("" if naive.get("running") else " (after it had finished)")
    )
    rate = args.rounds / slowest
    print(
        f"ratios: sweep {rate / naive_rate:.1f}x the old shape's rounds/s; the worst unrelated SMS "
        f"{naive_worst / worst:.0f}x faster than beside the old shape"
    )

    misses = []
    if ours["crashed"] or len(ours["results"]) != SWEEPS:
        misses.append("a sweep crashed or deadlocked")
    if not (reminded == once == total == counted == args.rounds):
        misses.append("not every round reminded exactly once")
    if not ours["took"] or worst >= TARGET_SECONDS:
        misses.append(f"an unrelated SMS took {TARGET_SECONDS:.0f} s or more")
    if not ours["running"]:
        print("NOTE: the sweeps ended before the unrelated SMS went: raise --rounds")
    for miss in misses:
        print(f"MISSED: {miss}")
    print(
        f"sms_contention: {args.rounds:,} rounds by {SWEEPS} sweeps in {slowest:.1f} s, "
        f"reminded once {once:,}/{args.rounds:,}, crashed {len(ours['crashed'])}, worst unrelated "
        f"SMS {worst * 1000:.0f} ms ({naive_worst * 1000:.0f} ms beside the old shape)"
    )
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
