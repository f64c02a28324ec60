"""The app as gunicorn serves it, plus one path that takes its time: the request a fault test
kills its worker in the middle of (tests/ops/test_faults.py). Never part of a deployment."""

import os
import time
from pathlib import Path

from wuyi.wsgi import application as django_application


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/__slow":
        pidfile = os.environ.get("WUYI_SLOW_PIDFILE")
        if pidfile:
            # Written whole, then renamed: the test polls for the file and reads it at once
            # (it once read an empty file, created but not yet written).
            partial = Path(f"{pidfile}.partial")
            partial.write_text(str(os.getpid()))
            partial.replace(pidfile)
        time.sleep(60)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow"]
    return django_application(environ, start_response)
