"""`make run`: the web server, one Celery worker and beat in one terminal; Ctrl-C stops all.

A shell `&` list would start its children with SIGINT ignored (POSIX, non-interactive shells),
so the runserver would outlive Ctrl-C. This launcher owns the three processes instead. A child
that dies on its own (a crashing request that takes the web server down, a worker killed by a
hostile file) is started again, and the launcher says so; the others keep serving. A child that
keeps dying right after each start is given up on, and the launcher stops.
"""

import signal
import subprocess
import sys
import time
import urllib.request

RESTART_WINDOW = 60.0  # seconds: this many restarts within it means the child cannot start
MAX_RESTARTS = 5


def _commands(address: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "worker": [python, "-m", "celery", "-A", "wuyi", "worker", "--loglevel=INFO", "-c", "1"],
        "beat": [python, "-m", "celery", "-A", "wuyi", "beat", "--loglevel=INFO"],
        "web": [python, "manage.py", "runserver", "--noreload", address],
    }


def _announce_when_up(address: str, process: subprocess.Popen, deadline: float = 60.0) -> None:
    """Print the address once the web server answers, not before."""
    url = f"http://{address}/accounts/login/"
    started = time.monotonic()
    while time.monotonic() - started < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                print(f"\n  Wuyi is ready: http://{address}/\n", flush=True)
                return
        except OSError:
            time.sleep(0.3)


def main(address: str = "127.0.0.1:8000") -> int:
    commands = _commands(address)
    processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
    restarts: dict[str, list[float]] = {name: [] for name in commands}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    status = 0
    try:
        _announce_when_up(address, processes["web"])
        while True:
            time.sleep(0.5)
            for name, process in processes.items():
                code = process.poll()
                if code is None:
                    continue
                now = time.monotonic()
                recent = [t for t in restarts[name] if now - t < RESTART_WINDOW]
                if len(recent) >= MAX_RESTARTS:
                    print(
                        f"wuyi: the {name} process keeps stopping (exit {code}); giving up.",
                        file=sys.stderr,
                        flush=True,
                    )
                    status = 1
                    raise KeyboardInterrupt
                print(
                    f"wuyi: the {name} process stopped (exit {code}); starting it again. "
                    "The others kept running.",
                    file=sys.stderr,
                    flush=True,
                )
                restarts[name] = [*recent, now]
                processes[name] = subprocess.Popen(commands[name])  # noqa: S603
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
