"""A load test of the deployment as deploy/compose.yaml runs it, on loopback only.

Starts the compose file's own commands (web: gunicorn gthread; worker-sms, worker-default and
beat: Celery) against the bench database and Redis, waits for /healthz, then runs each
scenario with --users simulated users (threads with keep-alive connections and their own
logged-in session) for --seconds:

  trivial    a logged-in page with nothing on it (/accounts/password_change/done/): the baseline
  secretary  the register searched (张), the register, the SMS list, the volunteers list
  volunteer  今日任务 (the phone's today list)
  district   the district overview

Targets (full size): 0 errors; each role's requests/s >= 0.25x the trivial page's and its p95
<= 4x the trivial page's p95; database connections never above the budget the compose file
documents (web processes x threads + workers' concurrency + beat + 2, docs/operations.md).
--smoke: a few users for a few seconds on a small data set of its own; errors, the budget and
/healthz are judged, the ratios printed. Every request goes to 127.0.0.1; every loop is bounded
in time; the processes started are stopped at the end, by pid.

The last line: `load: trivial R req/s p95 P ms; secretary a x rps, b x p95; ...; errors E,
db connections peak C/B; MET|NOT MET ...`.
"""

import argparse
import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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
RPS_RATIO, P95_RATIO = 0.25, 4.0
SECRET = "bench-load-not-a-real-secret-" + "k" * 30


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--users", type=int, default=None, help="simulated users (100; smoke 4)")
    parser.add_argument("--seconds", type=float, default=None, help="per scenario (30; smoke 1.5)")
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    args.users = args.users or (4 if args.smoke else 100)
    args.seconds = args.seconds or (1.5 if args.smoke else 30.0)
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
    """The users of the scenarios: the demo data's (full size), or a small set of our own."""
    from accounts.models import Role, User

    if not smoke:
        if not User.objects.filter(username="secretary").exists():
            from django.core.management import call_command

            call_command("seed_demo", verbosity=0)
        return {role: User.objects.get(username=role) for role in SCENARIO_USERS}
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


def session_for(user) -> str:
    """A logged-in session, written as the login view writes it (no password hashing per user)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
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


def run_user(port: int, cookie: str, paths: list[str], until: float, out: list, errors: list):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": "127.0.0.1", "Cookie": f"sessionid={cookie}", "Accept-Encoding": "gzip"}
    n = 0
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
    threads = [
        threading.Thread(
            target=run_user, args=(port, cookie, paths, until, latencies, errors), daemon=True
        )
        for cookie in cookies
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
            for label, (role, _paths) in SCENARIOS.items():
                paths = warmed[label]
                results[label] = scenario(args.port, cookies[role], paths, args.seconds)
                r = results[label]
                print(
                    f"load: {label:<9} {args.users} users {r['requests']:>6} requests "
                    f"{r['rps']:8.1f} req/s  p50 {r['p50'] * 1000:7.1f} ms  "
                    f"p95 {r['p95'] * 1000:7.1f} ms  errors {len(r['errors'])}"
                    + (f" ({', '.join(sorted(set(r['errors']))[:3])})" if r["errors"] else ""),
                    flush=True,
                )
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
    ok["db connections within the budget"] = sampler.peak <= allowed
    parts = [f"trivial {base['rps']:.1f} req/s p95 {base['p95'] * 1000:.0f} ms"]
    speed = []
    for label in ("secretary", "volunteer", "district"):
        r = results[label]
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
