"""`make run`: the web server, one Celery worker and beat in one terminal; Ctrl-C stops all.

A shell `&` list would start its children with SIGINT ignored (POSIX, non-interactive shells),
so the runserver would outlive Ctrl-C. This launcher owns the three processes instead.
"""

import signal
import subprocess
import sys
import time


def main(address: str = "127.0.0.1:8000") -> int:
    python = sys.executable
    commands = [
        [python, "-m", "celery", "-A", "wuyi", "worker", "--loglevel=INFO", "--concurrency=1"],
        [python, "-m", "celery", "-A", "wuyi", "beat", "--loglevel=INFO"],
        [python, "manage.py", "runserver", address],
    ]
    processes = [subprocess.Popen(command) for command in commands]  # noqa: S603
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    status = 0
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        status = 1  # one of them died on its own: stop the others and say so
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    return status


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
