"""Backends that reach no provider: the console (the embedded default) and locmem (tests)."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wuyi.lib import cn

from .base import Backend, Outgoing, Receipt, Result


@dataclass
class ConsoleBackend(Backend):
    """Prints each SMS on the worker's output: the number masked, the text as it would read."""

    name: str = "console"
    max_batch: int = 1000

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        sign = self.options.get("sign_name", "")
        lines = [f"SMS {cn.mask_phone(m.phone)} 【{sign}】{m.text}\n" for m in messages]
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
        return [
            Result(m.key, ok=True, provider_id=f"console-{uuid.uuid4().hex[:16]}") for m in messages
        ]


class Outbox:
    """What the locmem backend was handed, shared by every instance in the process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.sent: list[Outgoing] = []
        self.received: dict[str, str] = {}
        # phone -> (error, transient): answered instead of accepting (tests set it).
        self.refuse: dict[str, tuple[str, bool]] = {}
        # phones whose call raises in doubt (as a timeout after the request left).
        self.hang: set[str] = set()
        self.calls = 0


outbox = Outbox()


@dataclass
class LocmemBackend(Backend):
    """Keeps what it sends in `messaging.backends.simple.outbox`, for tests."""

    name: str = "locmem"
    max_batch: int = 1000

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        results = []
        with outbox.lock:
            outbox.calls += 1
            if any(m.phone in outbox.hang for m in messages):
                # The provider got the call, and the answer never came back.
                for m in messages:
                    outbox.received[m.key] = f"locmem-{m.key}"
                    outbox.sent.append(m)
                return [Result(m.key, ok=False, uncertain=True, error="timeout") for m in messages]
            for m in messages:
                refused = outbox.refuse.get(m.phone)
                if refused is not None:
                    error, transient = refused
                    results.append(Result(m.key, ok=False, error=error, transient=transient))
                    continue
                provider_id = f"locmem-{m.key}"
                outbox.sent.append(m)
                outbox.received[m.key] = provider_id
                results.append(Result(m.key, ok=True, provider_id=provider_id))
        return results

    def lookup(self, messages: Sequence[Outgoing]) -> dict[str, str] | None:
        with outbox.lock:
            return {m.key: outbox.received[m.key] for m in messages if m.key in outbox.received}

    def receipts_from_request(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> list[Receipt]:
        from .base import BadSignature

        raise BadSignature("locmem takes no receipts")
