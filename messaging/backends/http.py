"""A generic HTTP SMS gateway: JSON over POST, signed with HMAC-SHA256.

The protocol (what a gateway in front of a carrier, or an operator's own relay, implements):

``POST {url}/send`` with ``{"sign_name": "...", "messages": [{"id": "<our key>", "phone":
"13812345678", "template": "<code>", "params": {"gate": "东门"}, "text": "<rendered>"}]}``
answers 200 with ``{"results": [{"id": "...", "status": "accepted" | "rejected" | "retry",
"message_id": "...", "error": "..."}]}`` ("retry": not accepted now, try later). A 429, 502, 503
or 504 means nothing was accepted; a timeout or any other answer leaves the batch in doubt.

``POST {url}/lookup`` with ``{"ids": [...]}`` answers ``{"found": {"<id>": "<message_id>"}}``:
which of our ids the gateway has accepted (we ask before sending again what may have arrived).

Receipts: the gateway POSTs ``{"receipts": [{"message_id": "...", "status": "delivered" |
"failed", "error": "...", "at": "<ISO 8601>"}]}`` to /messaging/receipts/http/.

Every request either way carries ``X-Wuyi-Timestamp`` (Unix seconds) and ``X-Wuyi-Signature``:
hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the shared secret; older than five minutes, or
not matching, is refused.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import requests
from django.utils.dateparse import parse_datetime

from .base import Backend, BadSignature, Outgoing, Receipt, Result, sign, verify

TRANSIENT_STATUSES = {429, 502, 503, 504}


@dataclass
class HttpBackend(Backend):
    name: str = "http"
    max_batch: int = 1000

    def __post_init__(self) -> None:
        self.url = str(self.options.get("url", "")).rstrip("/")
        self.secret = str(self.options.get("secret", ""))
        self.timeout = float(self.options.get("timeout", 10))
        self.max_batch = int(self.options.get("batch", self.max_batch))
        self.session = requests.Session()

    def _post(self, path: str, payload: dict) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **sign(self.secret, body)}
        return self.session.post(
            f"{self.url}/{path}", data=body, headers=headers, timeout=self.timeout
        )

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        payload = {
            "sign_name": self.options.get("sign_name", ""),
            "messages": [
                {
                    "id": m.key,
                    "phone": m.phone,
                    "template": m.template_code,
                    "params": m.params,
                    "text": m.text,
                }
                for m in messages
            ],
        }
        try:
            response = self._post("send", payload)
        except requests.ConnectionError as exc:
            # Refused or unreachable before anything was written: nothing left here.
            if _not_sent(exc):
                return [
                    Result(m.key, ok=False, transient=True, error="unreachable") for m in messages
                ]
            return [
                Result(m.key, ok=False, uncertain=True, error="connection lost") for m in messages
            ]
        except requests.Timeout:
            return [Result(m.key, ok=False, uncertain=True, error="timeout") for m in messages]
        if response.status_code in TRANSIENT_STATUSES:
            error = f"HTTP {response.status_code}"
            return [Result(m.key, ok=False, transient=True, error=error) for m in messages]
        if 400 <= response.status_code < 500:
            error = f"HTTP {response.status_code}: {response.text[:100]}"
            return [Result(m.key, ok=False, error=error) for m in messages]
        try:
            answers = {str(r["id"]): r for r in response.json()["results"]}
        except (ValueError, KeyError, TypeError):
            error = f"HTTP {response.status_code}: unreadable answer"
            return [Result(m.key, ok=False, uncertain=True, error=error) for m in messages]
        results = []
        for m in messages:
            answer = answers.get(m.key)
            if answer is None:
                results.append(Result(m.key, ok=False, uncertain=True, error="no answer"))
            elif answer.get("status") == "accepted":
                results.append(
                    Result(m.key, ok=True, provider_id=str(answer.get("message_id", "")))
                )
            else:
                results.append(
                    Result(
                        m.key,
                        ok=False,
                        transient=answer.get("status") == "retry",
                        error=str(answer.get("error") or answer.get("status"))[:200],
                    )
                )
        return results

    def lookup(self, messages: Sequence[Outgoing]) -> dict[str, str] | None:
        response = self._post("lookup", {"ids": [m.key for m in messages]})
        response.raise_for_status()
        found = response.json().get("found") or {}
        return {str(k): str(v) for k, v in found.items()}

    def receipts_from_request(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> list[Receipt]:
        verify(self.secret, body, headers)
        try:
            items = json.loads(body)["receipts"]
            return [
                Receipt(
                    provider_id=str(item["message_id"]),
                    delivered=item["status"] == "delivered",
                    error=str(item.get("error") or "")[:200],
                    at=_when(item.get("at")),
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadSignature("unreadable receipts") from exc


def _not_sent(exc: requests.ConnectionError) -> bool:
    """Connection refused or name not resolved: the request never left."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _when(value) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None
