"""The one interface every SMS provider is reached through.

A backend sends a batch and says, for each recipient, what became of it (:class:`Result`):
accepted (with the provider's message id), refused for good, refused for now (transient: try
again later), or in doubt (the call timed out after the request left: the provider may have it).
A recipient in doubt is never simply sent again: :meth:`Backend.lookup` asks the provider which
of them it received, where the provider can say; where it cannot, the recipient counts as sent
(a reminder doubled costs money and trust; the receipt, when it comes, settles it).

Delivery receipts come back through a webhook (:meth:`Backend.receipts_from_request`, which
checks the request's signature first; :meth:`Backend.receipt_reply` is the answer the provider
expects) and, where the provider offers one, a pull (:meth:`Backend.poll_receipts`).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One SMS to hand over: `key` is ours (the recipient's id), unique and stable."""

    key: str
    phone: str
    template_code: str
    params: dict[str, str]  # the template's variables, in the template's order
    text: str  # the rendered text (the console prints it; gateways may want it)


@dataclass(slots=True)
class Result:
    key: str
    ok: bool
    provider_id: str = ""
    error: str = ""
    transient: bool = False  # not accepted this time: may be tried again
    uncertain: bool = False  # the provider may or may not have it


@dataclass(frozen=True, slots=True)
class Receipt:
    """The provider's word on one SMS: delivered to the handset, or failed (and why)."""

    provider_id: str
    delivered: bool
    phone: str = ""
    error: str = ""
    at: datetime.datetime | None = None


class BadSignature(Exception):
    """A receipt request whose signature or secret does not match."""


@dataclass
class Backend:
    """Subclasses set `name` and `max_batch` and implement send(); the rest is optional."""

    name: str = "base"
    max_batch: int = 1000
    options: dict = field(default_factory=dict)

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        raise NotImplementedError

    def lookup(self, messages: Sequence[Outgoing]) -> dict[str, str] | None:
        """{key: provider id} of those among `messages` the provider received; None when the
        provider cannot tell. Raises when it could tell but cannot be reached now."""
        return None

    def receipts_from_request(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> list[Receipt]:
        """The receipts a webhook request carries, once its signature is checked."""
        raise BadSignature("this backend takes no receipts")

    def receipt_reply(self, updated: int) -> dict[str, Any]:
        """The JSON body the webhook answers a receipt request with, as the provider expects
        it (a provider that does not get its own answer sends the receipts again)."""
        return {"updated": updated}

    def poll_receipts(self, pending: Sequence[tuple[str, str, datetime.datetime]]) -> list[Receipt]:
        """Receipts pulled from the provider. `pending` lists (phone, provider id, sent at) of
        SMS sent without a receipt yet, for providers that are asked number by number."""
        return []


def chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ----------------------------------------------------------------------------- signatures

SIGNATURE_HEADER = "X-Wuyi-Signature"
TIMESTAMP_HEADER = "X-Wuyi-Timestamp"
MAX_SKEW = 300  # seconds a signed request may be old (or early)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign `body`: HMAC-SHA256 over "<timestamp>.<body>"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: mac}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise BadSignature unless the headers sign `body` with `secret`, recently."""
    if not secret:
        raise BadSignature("no secret configured")
    ts = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > MAX_SKEW:
        raise BadSignature("stale or missing timestamp")
    expected = sign(secret, body, int(ts))[SIGNATURE_HEADER]
    if not hmac.compare_digest(expected, given):
        raise BadSignature("signature mismatch")


def verify_token(secret: str, given: str) -> None:
    """A shared secret in the receipt URL (?token=...), for providers that sign nothing."""
    if not secret or not hmac.compare_digest(secret.encode(), (given or "").encode()):
        raise BadSignature("token mismatch")
