"""The container health check: GET a /healthz URL with the site's own host name (the first
of DJANGO_ALLOWED_HOSTS, so that Django does not refuse the Host header); exit 0 on 200.
usage: python deploy/healthcheck.py http://127.0.0.1:8000/healthz"""

import os
import sys
import urllib.error
import urllib.request


def main(url: str) -> int:
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    request = urllib.request.Request(url)  # noqa: S310 - an http URL given by the operator
    if hosts and hosts[0] not in ("*",):
        request.add_header("Host", hosts[0].lstrip("."))
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(errors="replace"), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"))
