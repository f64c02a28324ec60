"""A load test of the deployment as deploy/compose.yaml runs it, on loopback only.

Starts the compose file's own commands (web: gunicorn gthread; worker-sms, worker-default and
beat: Celery) against the bench database and Redis, waits for /healthz, then runs each
scenario with --users simulated users (threads, each with its own logged-in session; gunicorn
answers one request per connection, as the compose file runs it) for --seconds. The users of a
reading scenario start at different pages of its mix; those of a write scenario set off one
after another over its first STAGGER seconds, untimed (flows):

  trivial    a logged-in page with nothing on it (/accounts/password_change/done/): the baseline
  secretary  the register searched (张), the register, the SMS list, the volunteers list
  volunteer  今日任务 (the phone's today list)
  district   the district overview
  campaign   secretaries sending a campaign as the page does (the compose page, 发送 and its
             preview, 确认), while one more secretary imports lists of 2,000 residents one
             after another (upload and check, 导入, the job's page; timed apart, in rows/s)
  marking    volunteers opening 今日任务 and recording their welfare checks, each its own
             account with its own checks, given out by care's own job

The writes run in a place tree of the bench's own (BENCHL-*), made new each run: a compound
of volunteers and their elderly residents, a compound per list, an approved template, a budget
the run cannot spend; forms are posted with the CSRF token as a browser sends it.

Targets (full size): 0 errors; every list imported whole (each compound holds its rows), every
check marked done recorded; each role's requests/s >= 0.25x the trivial page's and its p95
<= 4x the trivial page's p95; database connections never above the budget the compose file
documents (web processes x threads + workers' concurrency + beat + 2, docs/operations.md).
--smoke: a few users for a few seconds on a small data set of its own; errors, the budget and
/healthz are judged, the ratios printed. Every request goes to 127.0.0.1; every loop is bounded
in time; the processes started are stopped at the end, by pid.

The last line: `load: trivial R req/s p95 P ms; secretary a x rps, b x p95; ...; errors E,
db connections peak C/B; MET|NOT MET ...`.
"""

import argparse
import gzip
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchdb

ROOT = benchdb.ROOT
VAR = benchdb.VAR / "load"
SCENARIOS = {
    "trivial": ("secretary", ["/accounts/password_change/done/"]),
    "secretary": (
        "secretary",
        ["/residents/?q=%E5%BC%A0", "/residents/", "/messaging/", "/volunteers/"],
    ),
    "volunteer": ("volunteer", ["/volunteers/today/"]),
    "district": ("district", ["/overview/"]),
}
# The write scenarios (write_scenarios), judged as the roles' pages are.
WRITES = ("campaign", "marking")
RPS_RATIO, P95_RATIO = 0.25, 4.0
SECRET = "bench-load-not-a-real-secret-" + "k" * 30


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--users", type=int, default=None, help="simulated users (100; smoke 4)")
    parser.add_argument("--seconds", type=float, default=None, help="per scenario (30; smoke 1.5)")
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument(
        "--import-rows", type=int, default=None, help="rows of each list imported (2000; smoke 200)"
    )
    args = parser.parse_args()
    args.users = args.users or (4 if args.smoke else 100)
    args.seconds = args.seconds or (1.5 if args.smoke else 30.0)
    args.import_rows = args.import_rows or (200 if args.smoke else IMPORT_ROWS)
    return args


def compose_commands() -> dict[str, list[str]]:
    import yaml

    services = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    return {name: list(services[name]["command"]) for name in SERVICES}


SERVICES = ("web", "worker-sms", "worker-default", "beat")


def budget(commands: dict[str, list[str]]) -> int:
    web = commands["web"]
    total = int(web[web.index("--workers") + 1]) * int(web[web.index("--threads") + 1])
    for command in commands.values():
        if "worker" in command:
            total += int(command[command.index("--concurrency") + 1])
    return total + 1 + 2  # beat, and two for commands (here: the bench's own)


def local(command: list[str], port: int) -> list[str]:
    """The compose command as it runs here: our interpreter's executables, our port and files."""
    bindir = Path(sys.executable).parent
    out = [str(bindir / command[0]) if (bindir / command[0]).exists() else command[0]]
    for arg in command[1:]:
        arg = arg.replace("0.0.0.0:8000", f"127.0.0.1:{port}")
        arg = arg.replace("/var/lib/wuyi", str(VAR))
        out.append(arg)
    return out


def seed(smoke: bool) -> dict[str, object]:
    """The users of the reading scenarios: the demo data's (full size), or a small set of our
    own (the writes' place tree, benchl_users)."""
    from accounts.models import User

    if not smoke:
        if not User.objects.filter(username="secretary").exists():
            from django.core.management import call_command

            call_command("seed_demo", verbosity=0)
        return {role: User.objects.get(username=role) for role in SCENARIO_USERS}
    return benchl_users()


def benchl_users() -> dict[str, Any]:
    """A small place tree of our own (BENCHL-*), a secretary, a volunteer and district staff."""
    from accounts.models import Role, User

    names = {role: f"bench_load_{role}" for role in SCENARIO_USERS}
    if not User.objects.filter(username=names["district"]).exists():
        from compounds.services import posting_add
        from tests.factories import (
            BuildingFactory,
            CommunityFactory,
            CompoundFactory,
            DistrictFactory,
            SubdistrictFactory,
        )

        district = DistrictFactory(name="BENCHL-D")
        sub = SubdistrictFactory(district=district, name="BENCHL-S")
        community = CommunityFactory(subdistrict=sub, name="BENCHL-C")
        compound = CompoundFactory(community=community, name="BENCHL-K")
        BuildingFactory(compound=compound)
        roles: dict[str, tuple[str, object]] = {
            "secretary": (Role.SECRETARY, community),
            "volunteer": (Role.VOLUNTEER, compound),
            "district": (Role.DISTRICT_STAFF, district),
        }
        for role, (kind, place) in roles.items():
            user = User.objects.create_user(username=names[role], role=kind)
            posting_add(user=user, place=place)  # type: ignore[arg-type]
    return {role: User.objects.get(username=name) for role, name in names.items()}


SCENARIO_USERS = ("secretary", "volunteer", "district")
IMPORTER = "bench_load_importer"


def importer_community():
    """The community the imported lists go to, beside BENCHL-C, with a secretary of its own
    (IMPORTER)."""
    from accounts.models import Role, User
    from compounds.models import Community
    from compounds.services import posting_add

    home = Community.objects.get(name="BENCHL-C")
    community, _ = Community.objects.get_or_create(
        code="BENCHL-IC", defaults={"subdistrict": home.subdistrict, "name": "BENCHL-IC"}
    )
    if not User.objects.filter(username=IMPORTER).exists():
        user = User.objects.create_user(username=IMPORTER, role=Role.SECRETARY)
        posting_add(user=user, place=community)
    return community


def markers_community(home):
    """The community of the marking scenario's compounds (one a run, BENCHL-W-n), beside
    BENCHL-C: in the campaign's community each run added a compound to the compose page's
    choices, so that each run judged a larger page than the one before."""
    from compounds.models import Community

    community, _ = Community.objects.get_or_create(
        code="BENCHL-WC", defaults={"subdistrict": home.subdistrict, "name": "BENCHL-WC"}
    )
    return community


def importer_user():
    from accounts.models import User

    return User.objects.get(username=IMPORTER)


def session_for(user) -> str:
    """A logged-in session, written as the login view writes it (no password hashing per user)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def get(port: int, path: str, timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_healthy(port: int, processes: dict, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes.values()):
            return False
        try:
            if get(port, "/healthz", timeout=15) == 200:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def warm_up(port: int, cookie: str, paths: list[str]) -> list[str]:
    """Each page asked a few times before it is timed (the processes load templates and
    translations on first use); a page that redirects within the site (the overview sends
    district staff to their district) is replaced by where it leads."""
    found = []
    for path in paths:
        for _ in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request(
                    "GET", path, headers={"Host": "127.0.0.1", "Cookie": f"sessionid={cookie}"}
                )
                response = conn.getresponse()
                response.read()
                location = response.headers.get("Location", "")
            finally:
                conn.close()
            if (
                response.status in (301, 302)
                and location.startswith("/")
                and "login" not in location
            ):
                path = location
        found.append(path)
    return found


def run_user(
    port: int, cookie: str, paths: list[str], until: float, out: list, errors: list, first: int = 0
):
    """One user asking `paths` in turn from paths[first]; a connection closed by the server
    (one request each, deploy/compose.yaml) is opened again by http.client."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": "127.0.0.1", "Cookie": f"sessionid={cookie}", "Accept-Encoding": "gzip"}
    n = first
    while time.monotonic() < until:
        path = paths[n % len(paths)]
        n += 1
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{path}: {type(exc).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        elapsed = time.perf_counter() - started
        if status != 200:
            errors.append(f"{path}: {status}")
        else:
            out.append(elapsed)
    conn.close()


def scenario(port: int, cookies: list[str], paths: list[str], seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + seconds
    started = time.monotonic()
    # Users start at different pages of the mix: a hundred secretaries do not all open the
    # register at the same instant, then all the SMS list (every page timed behind 99 of
    # the same kind).
    threads = [
        threading.Thread(
            target=run_user,
            args=(port, cookie, paths, until, latencies, errors, i % len(paths)),
            daemon=True,
        )
        for i, cookie in enumerate(cookies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 40)
    elapsed = time.monotonic() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": benchdb.percentile(latencies, 50) if latencies else float("inf"),
        "p95": benchdb.percentile(latencies, 95) if latencies else float("inf"),
        "requests": len(latencies),
        "errors": errors,
    }


# ----------------------------------------------------------------------------- the writes
# POSTs as the pages send them: a form with the CSRF token (a 32-character secret in the
# csrftoken cookie, echoed in the form: what Django checks over plain http), no JavaScript.

CSRF = "benchloadcsrf0123456789abcdefghi"  # 32 characters, as Django's secrets
IMPORT_ROWS = 2000
IMPORT_LISTS = 12  # compounds made ready for the lists imported during the campaign scenario
ADHOC_NUMBERS = 5  # numbers a campaign goes to (the SMS backend is locmem)
STAGGER = 2.0  # seconds over which the users of a write scenario set off (flows)


def _run_number() -> int:
    """This run's number: the lists imported before it (each list has a compound of its own)
    and the volunteers made before it stay; what this run makes is new."""
    from compounds.models import Compound

    return Compound.objects.filter(code__startswith="BENCHL-W-").count()


def import_list(rows: int, list_number: int) -> bytes:
    """A committee's list of `rows` residents (the template's columns). Its ID numbers are
    its own, never used by an earlier list of any run: list k's row n is born on day
    (k * rows + n) // 1000 after 1925-01-01, with a sequence and sex from the remainder."""
    import csv
    import datetime
    import io
    import random

    import benchdata

    rng = random.Random(list_number)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "姓名", "性别", "身份证号码", "联系电话", "楼栋", "单元", "房号"])
    first = datetime.date(1925, 1, 1)
    for n in range(rows):
        k = (list_number * rows + n) % (36_000 * 1000)
        female = k % 2 == 0
        born = first + datetime.timedelta(days=k // 1000)
        household = n // 3
        building, within = household // 108 + 1, household % 108
        writer.writerow(
            [
                n + 1,
                benchdata.random_name(rng),
                "女" if female else "男",
                benchdata.make_id("620102", born, (k % 1000) // 2, female),
                benchdata.random_mobile(rng),
                building,
                within // 36 + 1,
                f"{within % 36 // 2 + 1}{within % 2 + 1:02d}",
            ]
        )
    return out.getvalue().encode()


def seed_writes(users: int, tasks: int, lists: int, rows: int) -> dict[str, Any]:
    """What the write scenarios need, new each run: a compound of
    `users` volunteers (an account each, one team) and `users` x `tasks` elderly residents
    living alone, whose welfare checks today care's own job gives out in turn, in a community
    of its own (markers_community); `lists` empty
    compounds of 10 buildings, one per imported list; an approved SMS template; a budget
    that a bench run cannot spend. The lists' compounds go to a community of their own
    (BENCHL-IC, its own secretary): in the campaign's community they added 120 buildings a
    run to the compose page's choices, so that each run judged a larger page than the one
    before."""
    from django.utils import timezone

    from accounts.models import Role, User
    from care.models import WelfareCheck
    from care.services import checks_generate
    from compounds.models import Building, Community, Compound
    from compounds.services import posting_add
    from messaging.budgets import budget_set
    from messaging.models import SmsTemplate
    from residents.models import Household, Resident, VulnerableTag
    from volunteers.models import Membership, Team, Volunteer

    run = _run_number()
    campaigns = Community.objects.get(name="BENCHL-C")
    community = markers_community(campaigns)
    compound = Compound.objects.create(
        community=community, code=f"BENCHL-W-{run}", name=f"BENCHL-W-{run}", status="sealed"
    )
    building = Building.objects.create(compound=compound, number="1")
    team = Team.objects.create(community=community, name=f"BENCHL 队 {run}", kind="youth")
    team.compounds.add(compound)
    accounts = []
    for n in range(users):
        user = User.objects.create_user(username=f"bench_load_v{run}_{n}", role=Role.VOLUNTEER)
        posting_add(user=user, place=compound)
        volunteer = Volunteer.objects.create(
            user=user, community=community, name=f"志愿者{n}", phone=f"139{run % 10000:04d}{n:04d}"
        )
        Membership.objects.create(team=team, volunteer=volunteer)
        accounts.append(user)
    households = Household.objects.bulk_create(
        [
            Household(compound=compound, building=building, unit="1", room=str(101 + n))
            for n in range(users * tasks)
        ]
    )
    residents = Resident.objects.bulk_create(
        [
            Resident(household=h, compound=compound, community=community, name=f"老人{h.room}")
            for h in households
        ]
    )
    VulnerableTag.objects.bulk_create(
        [VulnerableTag(resident=r, category="elderly_alone") for r in residents]
    )
    checks_generate(day=timezone.localdate(), compounds=[compound.pk])
    checks: dict[int, list[int]] = {user.pk: [] for user in accounts}
    for pk, user_id in WelfareCheck.objects.filter(compound=compound).values_list(
        "pk", "volunteer__user_id"
    ):
        checks[user_id].append(pk)
    lists_community = importer_community()
    targets = []
    for n in range(lists):
        target = Compound.objects.create(
            community=lists_community, code=f"BENCHL-I-{run}-{n}", name=f"BENCHL-I-{run}-{n}"
        )
        Building.objects.bulk_create(
            [
                Building(compound=target, number=str(b), unit_count=3, floor_count=18)
                for b in range(1, 11)
            ]
        )
        targets.append((target.pk, import_list(rows, run * lists + n)))
    template, _ = SmsTemplate.objects.get_or_create(
        name="BENCHL 通知",
        defaults={
            "code": "SMS_BENCHL",
            "body": "各位居民：今晚8点核酸检测，请下楼排队。",
            "approved": True,
        },
    )
    admin, _ = User.objects.get_or_create(
        username="bench_load_admin", defaults={"is_superuser": True, "is_staff": True}
    )
    budget_set(by=admin, community=campaigns, amount="1000000")
    return {
        "compound": compound.pk,
        "rows": rows,
        "volunteers": accounts,
        "checks": checks,
        "imports": targets,
        "template": template.pk,
    }


class Browser:
    """One simulated user: a keep-alive connection with its session and CSRF cookies. Each
    answer with an expected status is timed into `out`; anything else is an error, named by
    the path with its ids as N."""

    def __init__(self, port: int, cookie: str, out: list, errors: list) -> None:
        self.port, self.out, self.errors, self.done = port, out, errors, 0
        self.timed_from = 0.0  # (time.monotonic) answers to requests sent before are not timed
        self.cookie = f"sessionid={cookie}; csrftoken={CSRF}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "", expect=(200,)
    ) -> tuple[int, str, bytes] | None:
        headers = {"Host": "127.0.0.1", "Cookie": self.cookie, "Accept-Encoding": "gzip"}
        if content_type:
            headers["Content-Type"] = content_type
        label = f"{method} {re.sub(r'[0-9]+', 'N', path)}"
        timed = time.monotonic() >= self.timed_from
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body or None, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{label}: {type(exc).__name__}")
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return None
        elapsed = time.perf_counter() - started
        if response.status not in expect:
            self.errors.append(f"{label}: {response.status}")
            return None
        if timed:
            self.out.append(elapsed)
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return response.status, response.headers.get("Location", ""), data

    def post(self, path: str, fields: list[tuple[str, str]], expect=(302,)):
        body = urllib.parse.urlencode([("csrfmiddlewaretoken", CSRF), *fields]).encode()
        return self.request("POST", path, body, "application/x-www-form-urlencoded", expect)

    def post_file(self, path: str, fields: dict[str, str], name: str, content: bytes):
        boundary = f"benchload{uuid.uuid4().hex}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in {"csrfmiddlewaretoken": CSRF, **fields}.items()
        ]
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        )
        body = (
            "".join(parts).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST", path, body, f"multipart/form-data; boundary={boundary}", expect=(302,)
        )

    def close(self) -> None:
        self.conn.close()


def campaign_flow(browser: Browser, until: float, template: int) -> None:
    """A secretary sends a campaign as the page does: the compose page, 发送 (the preview
    with its confirmation), 确认 (the campaign queued, redirected to it)."""
    from messaging.audiences import ADHOC

    numbers = "\n".join(f"1380000{n:04d}" for n in range(ADHOC_NUMBERS))
    while time.monotonic() < until:
        if browser.request("GET", "/messaging/new/") is None:
            continue
        fields = [
            ("template", str(template)),
            ("audience", ADHOC),
            (f"t:{ADHOC}", numbers),
            ("send_at", ""),
            ("key", uuid.uuid4().hex),
        ]
        preview = browser.post("/messaging/new/", [*fields, ("action", "send")], expect=(200,))
        if preview is None:
            continue
        checked = re.search(rb'name="checked" value="([0-9a-f]+)"', preview[2])
        if checked is None:
            browser.errors.append("POST /messaging/new/: no confirmation in the preview")
            continue
        fields += [("action", "confirm"), ("checked", checked[1].decode())]
        if browser.post("/messaging/new/", fields) is not None:
            browser.done += 1


def marking_flow(browser: Browser, until: float, checks: list[int]) -> None:
    """A volunteer opens 今日任务 and records the next welfare check (visited, in good
    spirits); with none left, keeps opening the list."""
    pending = list(checks)
    while time.monotonic() < until:
        if browser.request("GET", "/volunteers/today/") is None or not pending:
            continue
        check = pending.pop(0)
        form = [("outcome", "visited"), ("mood", "good")]
        if browser.post(f"/care/checks/{check}/", form) is not None:
            browser.done += 1


def import_flow(browser: Browser, until: float, lists: list, timings: list) -> None:
    """A secretary imports lists one after another: upload (checked on the way), the
    report, 导入 (committed), the job's page. Each list's time, upload to the last page."""
    for compound, content in lists:
        if time.monotonic() >= until:
            return
        started = time.perf_counter()
        uploaded = browser.post_file(
            "/residents/import/", {"compound": str(compound)}, "居民名单.csv", content
        )
        if uploaded is None:
            continue
        job = uploaded[1]
        if browser.request("GET", job) is None:
            continue
        if browser.post(f"{job}commit/", []) is None or browser.request("GET", job) is None:
            continue
        timings.append(time.perf_counter() - started)
        browser.done += 1


def flows(port: int, seconds: float, work: list[tuple[str, Callable]]) -> dict:
    """Run each (cookie, flow) as a simulated user for `seconds`; the figures of them all.

    The users set off one after another over the first STAGGER seconds, and what they send
    before the last one has set off is not timed: started at once, a hundred secretaries would
    all ask the compose page, then all send, then all confirm, in step to the end (each step
    timed behind 99 of its own kind), as no committee does."""
    latencies: list[float] = []
    errors: list[str] = []
    browsers = [Browser(port, cookie, latencies, errors) for cookie, _flow in work]
    begun = time.monotonic()
    until = begun + seconds
    stagger = min(STAGGER, seconds / 4)
    started = begun + stagger
    for browser in browsers:
        browser.timed_from = started

    def user(flow: Callable, browser: Browser, n: int) -> None:
        time.sleep(stagger * n / len(browsers))
        flow(browser, until)

    threads = [
        threading.Thread(target=user, args=(flow, browser, n), daemon=True)
        for n, (browser, (_cookie, flow)) in enumerate(zip(browsers, work, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    for browser in browsers:
        browser.close()
    elapsed = time.monotonic() - started
    return {
        "rps": len(latencies) / elapsed,
        "p50": benchdb.percentile(latencies, 50) if latencies else float("inf"),
        "p95": benchdb.percentile(latencies, 95) if latencies else float("inf"),
        "requests": len(latencies),
        "errors": errors,
        "done": sum(b.done for b in browsers),
    }


def write_scenarios(port: int, seconds: float, cookies: dict, writes: dict) -> dict[str, dict]:
    """campaign: the secretaries send campaigns while one more imports lists (timed apart);
    then marking: each volunteer records their welfare checks."""
    timings: list[float] = []
    importer = Browser(port, cookies["importer"], [], [])
    thread = threading.Thread(
        target=import_flow,
        args=(importer, time.monotonic() + seconds, writes["imports"], timings),
        daemon=True,
    )
    thread.start()
    template = writes["template"]
    results = {
        "campaign": flows(
            port,
            seconds,
            [(c, lambda b, u: campaign_flow(b, u, template)) for c in cookies["campaign"]],
        )
    }
    thread.join(timeout=600)
    importer.close()
    lists = writes["imports"][: len(timings)]
    results["import"] = {
        "lists": len(timings),
        "median": benchdb.percentile(timings, 50) if timings else float("inf"),
        "errors": importer.errors,
        "landed": imports_landed([compound for compound, _ in lists], writes["rows"]),
    }
    work = [
        (cookie, lambda b, u, checks=writes["checks"][user.pk]: marking_flow(b, u, checks))
        for user, cookie in zip(writes["volunteers"], cookies["marking"], strict=True)
    ]
    results["marking"] = flows(port, seconds, work)
    results["marking"]["recorded"] = checks_recorded(writes["compound"])
    return results


def imports_landed(compounds: list[int], rows: int) -> int:
    """How many of these compounds hold exactly the `rows` residents of their list."""
    from django.db.models import Count

    from residents.models import Resident

    counts = dict(
        Resident.objects.filter(compound_id__in=compounds)
        .values_list("compound_id")
        .annotate(n=Count("id"))
    )
    return sum(counts.get(pk) == rows for pk in compounds)


def checks_recorded(compound: int) -> int:
    from care.models import WelfareCheck

    return WelfareCheck.objects.filter(compound_id=compound, done_at__isnull=False).count()


class ConnectionSampler(threading.Thread):
    """The peak number of connections to the bench database, sampled every 0.2 s."""

    def __init__(self, dsn: str, name: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.name, self.peak, self.stopped = dsn, name, 0, threading.Event()

    def run(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self.stopped.wait(0.2):
                    cur.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.name]
                    )
                    self.peak = max(self.peak, cur.fetchone()[0])
        finally:
            conn.close()


def report(label: str, users: int, r: dict) -> None:
    done = f"  done {r['done']}" if "done" in r else ""
    print(
        f"load: {label:<9} {users} users {r['requests']:>6} requests "
        f"{r['rps']:8.1f} req/s  p50 {r['p50'] * 1000:7.1f} ms  "
        f"p95 {r['p95'] * 1000:7.1f} ms  errors {len(r['errors'])}{done}"
        + (f" ({', '.join(sorted(set(r['errors']))[:3])})" if r["errors"] else ""),
        flush=True,
    )


def report_imports(r: dict, rows: int) -> None:
    rate = rows / r["median"] if r["lists"] else 0.0
    print(
        f"load: import    {r['lists']} lists of {rows} rows imported meanwhile, median "
        f"{r['median']:.1f} s each (upload, check, commit: {rate:.0f} rows/s), "
        f"{r['landed']} whole, errors {len(r['errors'])}"
        + (f" ({', '.join(sorted(set(r['errors']))[:3])})" if r["errors"] else ""),
        flush=True,
    )


def stop(processes: dict) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    args = parse()
    started_all = time.monotonic()
    # The bench writes the sessions the web processes read: the same key signs them.
    os.environ["DJANGO_SECRET_KEY"] = SECRET
    name = benchdb.setup()
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        sys.exit("load: REDIS_URL is needed (the broker and cache, as in production)")
    from django.conf import settings

    users = seed(args.smoke)
    writer = benchl_users()["secretary"]
    writes = seed_writes(
        args.users,
        tasks=5 if args.smoke else 20,
        lists=2 if args.smoke else IMPORT_LISTS,
        rows=args.import_rows,
    )
    commands = compose_commands()
    allowed = budget(commands)
    VAR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "WUYI_TLS": "0",  # plain http on loopback: the check says so (wuyi.W001), as it should
        "WUYI_VAR_DIR": str(VAR),
        "WUYI_LOG_FORMAT": "json",
        "WUYI_SMS_BACKEND": "locmem",
        "PYTHONPATH": str(ROOT),
    }
    if args.smoke:
        env["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
    else:
        manifest = VAR / "staticfiles" / "staticfiles.json"
        if not manifest.exists():
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                env=env,
                cwd=ROOT,
                check=True,
            )
    cookies = {role: [session_for(users[role]) for _ in range(args.users)] for role in users}
    write_cookies: dict[str, Any] = {
        "campaign": [session_for(writer) for _ in range(args.users)],
        "importer": session_for(importer_user()),
        "marking": [session_for(volunteer) for volunteer in writes["volunteers"]],
    }
    db = settings.DATABASES["default"]
    dsn = (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER'] or 'postgres'} dbname=postgres"
        + (f" password={db['PASSWORD']}" if db.get("PASSWORD") else "")
    )
    from django.db import connections

    connections.close_all()  # the bench's own: not counted against the app's budget
    logs = {}
    processes: dict[str, subprocess.Popen] = {}
    ok: dict[str, bool] = {}
    results: dict[str, dict] = {}
    sampler = ConnectionSampler(dsn, name)
    try:
        for service in SERVICES:
            logs[service] = open(VAR / f"{service}.log", "w")  # noqa: SIM115 - closed below
            processes[service] = subprocess.Popen(
                local(commands[service], args.port),
                cwd=ROOT,
                env=env,
                stdout=logs[service],
                stderr=subprocess.STDOUT,
            )
        ok["healthz 200"] = wait_healthy(args.port, processes, time.monotonic() + 90)
        print(
            f"load: {', '.join(SERVICES)} started from deploy/compose.yaml; "
            f"/healthz {'200' if ok['healthz 200'] else 'NOT healthy'} after "
            f"{time.monotonic() - started_all:.1f} s",
            flush=True,
        )
        if ok["healthz 200"]:
            sampler.start()
            warmed = {}
            for label, (role, paths) in SCENARIOS.items():
                warmed[label] = warm_up(args.port, cookies[role][0], paths)
                # Every process and thread has served the page before it is timed.
                scenario(args.port, cookies[role], warmed[label], min(1.0, args.seconds / 3))
            warm = min(1.0, args.seconds / 3)
            warm_cookies = write_cookies["campaign"][:2]
            flows(
                args.port,
                warm,
                [(c, lambda b, u: campaign_flow(b, u, writes["template"])) for c in warm_cookies],
            )
            for label, (role, _paths) in SCENARIOS.items():
                paths = warmed[label]
                results[label] = scenario(args.port, cookies[role], paths, args.seconds)
                report(label, args.users, results[label])
            results.update(write_scenarios(args.port, args.seconds, write_cookies, writes))
            for label in WRITES:
                report(label, args.users, results[label])
            report_imports(results["import"], writes["rows"])
            sampler.stopped.set()
            sampler.join(timeout=5)
        ok["every process kept running"] = all(p.poll() is None for p in processes.values())
    finally:
        sampler.stopped.set()
        stop(processes)
        for log in logs.values():
            log.close()
    if not results:
        for service in SERVICES:
            tail = (VAR / f"{service}.log").read_text(errors="replace")[-1500:]
            print(f"--- {service}.log (end)\n{tail}")
        print("load: NOT MET (the deployment did not come up)")
        return 1
    base = results["trivial"]
    errors = sum(len(r["errors"]) for r in results.values())
    ok["0 errors"] = errors == 0
    if "import" in results:
        imported = results["import"]
        ok["a list imported, every one whole"] = imported["lists"] >= 1 and (
            imported["landed"] == imported["lists"]
        )
        marking = results["marking"]
        ok["every check marked done is recorded"] = marking["recorded"] == marking["done"]
        ok["campaigns sent"] = results["campaign"]["done"] >= 1
    ok["db connections within the budget"] = sampler.peak <= allowed
    parts = [f"trivial {base['rps']:.1f} req/s p95 {base['p95'] * 1000:.0f} ms"]
    speed = []
    for label in ("secretary", "volunteer", "district", *WRITES):
        r = results.get(label)
        if r is None:
            continue
        rps_x = r["rps"] / base["rps"] if base["rps"] else 0.0
        p95_x = r["p95"] / base["p95"] if base["p95"] else float("inf")
        ok[f"{label} rps >= {RPS_RATIO}x"] = rps_x >= RPS_RATIO
        ok[f"{label} p95 <= {P95_RATIO}x"] = p95_x <= P95_RATIO
        speed += [f"{label} rps >= {RPS_RATIO}x", f"{label} p95 <= {P95_RATIO}x"]
        parts.append(f"{label} {rps_x:.2f}x rps, {p95_x:.2f}x p95")
    met = benchdb.verdict(ok, speed=speed, smoke=args.smoke)
    text = benchdb.verdict_text(ok, speed=speed, smoke=args.smoke)
    print(
        f"load: {'; '.join(parts)}; errors {errors}, db connections peak "
        f"{sampler.peak}/{allowed}; {args.users} users, {time.monotonic() - started_all:.0f} s; "
        f"{text}"
    )
    shutil.rmtree(VAR / "celerybeat-schedule", ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
