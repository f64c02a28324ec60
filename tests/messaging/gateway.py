"""A fake SMS gateway on loopback speaking messaging.backends.http's protocol, which counts
every number it accepts. The fault tests run it in a thread; bench/sms_fanout.py runs it as a
process (``python -m tests.messaging.gateway --port 0``, which prints its URL).

Faults, set on the object or by ``POST /control``: numbers answered "retry" on their first
submission (`retry_once`), the n-th call answered 503 (`fail_calls`), the n-th call accepted
and then answered too late (`slow_calls`, seconds), every call held after it was recorded until
released (`hold`).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Gateway:
    def __init__(self, *, secret: str = "") -> None:
        self.secret = secret
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.accepted: collections.Counter[str] = collections.Counter()  # phone -> times
        self.submitted: collections.Counter[str] = collections.Counter()  # phone -> times
        self.received: dict[str, str] = {}  # our id -> message id
        self.calls = 0
        self.retry_once: set[str] = set()
        self.fail_calls: set[int] = set()
        self.slow_calls: dict[int, float] = {}
        self.hold = False
        self.holding = threading.Event()  # set while a call is held
        self.release = threading.Event()
        self.ids = itertools.count(1)

    # ------------------------------------------------------------------------- the protocol

    def send(self, payload: dict) -> tuple[int, dict, float]:
        """(status, body, seconds to wait before answering)."""
        with self.lock:
            self.calls += 1
            call = self.calls
            messages = payload["messages"]
            for m in messages:
                self.submitted[m["phone"]] += 1
            if call in self.fail_calls:
                return 503, {"error": "busy"}, 0.0
            results = []
            for m in messages:
                if m["phone"] in self.retry_once:
                    self.retry_once.discard(m["phone"])
                    results.append({"id": m["id"], "status": "retry", "error": "流控，请稍后"})
                    continue
                message_id = self.received.get(m["id"])
                if message_id is None:  # a duplicate id is a bug we would count as doubled
                    message_id = f"g{next(self.ids)}"
                    self.received[m["id"]] = message_id
                self.accepted[m["phone"]] += 1
                results.append({"id": m["id"], "status": "accepted", "message_id": message_id})
            delay = self.slow_calls.get(call, 0.0)
        return 200, {"results": results}, delay

    def lookup(self, payload: dict) -> dict:
        with self.lock:
            return {"found": {i: self.received[i] for i in payload["ids"] if i in self.received}}

    def stats(self) -> dict:
        with self.lock:
            return {
                "calls": self.calls,
                "accepted": sum(self.accepted.values()),
                "distinct": len(self.accepted),
                "doubled": sum(1 for n in self.accepted.values() if n > 1),
            }

    def control(self, payload: dict) -> dict:
        with self.lock:
            if payload.get("reset"):
                self.reset()
            self.retry_once |= set(payload.get("retry_once", []))
            self.fail_calls |= {int(n) for n in payload.get("fail_calls", [])}
            if "hold" in payload:
                self.hold = bool(payload["hold"])
        if payload.get("release"):
            self.release.set()
        return {"ok": True}

    def missing(self, phones) -> int:
        with self.lock:
            return sum(1 for p in phones if not self.accepted.get(p))

    # ------------------------------------------------------------------------- serving

    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment, sent at once: with keep-alive, a body written
            # after the headers waits for the client's delayed ACK (40 ms a call).
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(200, gateway.stats())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: nothing was received
                if gateway.secret:
                    from messaging.backends.base import BadSignature, verify

                    try:
                        verify(gateway.secret, body, self.headers)
                    except BadSignature:
                        self._answer(401, {"error": "bad signature"})
                        return
                payload = json.loads(body or b"{}")
                path = self.path.rstrip("/").rsplit("/", 1)[-1]
                if path == "send":
                    status, answer, delay = gateway.send(payload)
                    if gateway.hold:
                        gateway.holding.set()
                        gateway.release.wait(60)
                    if delay:
                        threading.Event().wait(delay)
                    self._answer(status, answer)
                elif path == "lookup":
                    self._answer(200, gateway.lookup(payload))
                elif path == "control":
                    self._answer(200, gateway.control(payload))
                else:
                    self._answer(404, {"error": "no such path"})

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    gateway = Gateway(secret=args.secret)
    server = gateway.serve(args.port)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
