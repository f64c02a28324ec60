"""Aliyun SMS (dysmsapi 2017-05-25) through the official SDK: SendSms with SignName,
TemplateCode and TemplateParam, up to 1,000 numbers a call (the numbers of one call share one
TemplateParam, so a batch is grouped by its variables).

Each call carries an OutId of ours, and every recipient of the call keeps it as its provider id:
Aliyun's receipts (the SmsReport push, QuerySendDetails) name the OutId and the number, so a
receipt finds its recipient. A call in doubt is settled by QuerySendDetails: the number's SMS of
the day with this template and text.
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .base import Backend, BadSignature, Outgoing, Receipt, Result, verify_token

# Codes that mean "not now" rather than "never": throttling, the account's balance, the
# provider's own trouble.
TRANSIENT_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",
    "SignatureNonceUsed",
    "ServiceUnavailable",
}


def transient_code(code: str) -> bool:
    code = code or ""
    return code in TRANSIENT_CODES or code.startswith(("isp.", "Throttling"))


def groups(messages: Sequence[Outgoing], size: int) -> list[list[Outgoing]]:
    """Calls to make: messages with the same template and variables together, each number
    once a call, at most `size` numbers a call."""
    by_params: dict[tuple[str, str], list[list[Outgoing]]] = {}
    for m in messages:
        key = (m.template_code, json.dumps(m.params, ensure_ascii=False, sort_keys=True))
        calls = by_params.setdefault(key, [[]])
        for call in calls:
            if len(call) < size and all(o.phone != m.phone for o in call):
                call.append(m)
                break
        else:
            calls.append([m])
    return [call for calls in by_params.values() for call in calls if call]


@dataclass
class AliyunBackend(Backend):
    name: str = "aliyun"
    max_batch: int = 1000

    @functools.cached_property
    def client(self):
        """The SDK's client, made on first use (receipts need no credentials)."""
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import utils_models

        timeout_ms = int(float(self.options.get("timeout", 10)) * 1000)
        config = utils_models.Config(
            access_key_id=self.options.get("access_key_id") or "",
            access_key_secret=self.options.get("access_key_secret") or "",
            endpoint=self.options.get("endpoint") or "dysmsapi.aliyuncs.com",
            protocol=self.options.get("protocol") or "https",
            read_timeout=timeout_ms,
            connect_timeout=min(timeout_ms, 5000),
        )
        return Client(config)

    def _runtime(self):
        from darabonba.runtime import RuntimeOptions

        # No retries inside the SDK: a retry after a timeout could send the call twice.
        return RuntimeOptions(autoretry=False, max_attempts=1)

    def request_for(self, call: Sequence[Outgoing], out_id: str):
        """The SDK's request object for one call (tests look at it)."""
        from alibabacloud_dysmsapi20170525 import models

        return models.SendSmsRequest(
            phone_numbers=",".join(m.phone for m in call),
            sign_name=self.options.get("sign_name", ""),
            template_code=call[0].template_code,
            template_param=json.dumps(call[0].params, ensure_ascii=False)
            if call[0].params
            else None,
            out_id=out_id,
        )

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        from darabonba.exceptions import ResponseException

        results: list[Result] = []
        for call in groups(messages, self.max_batch):
            out_id = "wuyi-" + uuid.uuid4().hex[:20]
            request = self.request_for(call, out_id)
            try:
                response = self.client.send_sms_with_options(request, self._runtime())
            except ResponseException as exc:
                code = str(getattr(exc, "code", "") or "")
                error = f"{code}: {getattr(exc, 'message', '')}"[:200]
                transient = transient_code(code) or (getattr(exc, "status_code", 0) or 0) >= 500
                results += [Result(m.key, ok=False, transient=transient, error=error) for m in call]
                continue
            except Exception as exc:  # the SDK's network errors: the call may have arrived
                error = f"{type(exc).__name__}"[:200]
                results += [Result(m.key, ok=False, uncertain=True, error=error) for m in call]
                continue
            body = response.body
            if (body.code or "").upper() == "OK":
                results += [Result(m.key, ok=True, provider_id=out_id) for m in call]
            else:
                error = f"{body.code}: {body.message}"[:200]
                transient = transient_code(body.code)
                results += [Result(m.key, ok=False, transient=transient, error=error) for m in call]
        return results

    def _details(self, phone: str, day: datetime.date) -> list:
        from alibabacloud_dysmsapi20170525 import models

        request = models.QuerySendDetailsRequest(
            phone_number=phone, send_date=day.strftime("%Y%m%d"), page_size=50, current_page=1
        )
        response = self.client.query_send_details_with_options(request, self._runtime())
        dtos = response.body.sms_send_detail_dtos
        return list(getattr(dtos, "sms_send_detail_dto", None) or [])

    def lookup(self, messages: Sequence[Outgoing]) -> dict[str, str] | None:
        # Aliyun lists a number's sends by day (Beijing time). A send in doubt at 00:01 may
        # have gone at 23:59: not found today, it is looked for the day before too.
        today = timezone.localdate()
        found: dict[str, str] = {}
        for m in messages:
            for day in (today, today - datetime.timedelta(days=1)):
                match = next(
                    (
                        dto
                        for dto in self._details(m.phone, day)
                        if dto.template_code == m.template_code and m.text in (dto.content or "")
                    ),
                    None,
                )
                if match is not None:
                    found[m.key] = match.out_id or ""
                    break
        return found

    def receipts_from_request(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> list[Receipt]:
        verify_token(str(self.options.get("receipt_token", "")), query.get("token", ""))
        try:
            items = json.loads(body)
            return [
                Receipt(
                    provider_id=str(item.get("out_id") or ""),
                    phone=str(item["phone_number"]),
                    delivered=bool(item.get("success")),
                    error=str(item.get("err_code") or item.get("err_msg") or "")[:200],
                    at=_when(item.get("report_time")),
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadSignature("unreadable receipts") from exc

    def receipt_reply(self, updated: int) -> dict[str, Any]:
        """What the provider's receipt push expects back: anything else and it pushes again."""
        return {"code": 0, "msg": "OK"}

    def poll_receipts(self, pending: Sequence[tuple[str, str, datetime.datetime]]) -> list[Receipt]:
        receipts = []
        for phone, provider_id, sent_at in pending:
            for dto in self._details(phone, timezone.localtime(sent_at).date()):
                if dto.out_id != provider_id or dto.send_status not in (2, 3):
                    continue
                receipts.append(
                    Receipt(
                        provider_id=provider_id,
                        phone=phone,
                        delivered=dto.send_status == 3,
                        error=str(dto.err_code or "")[:200] if dto.send_status == 2 else "",
                        at=_when(dto.receive_date),
                    )
                )
                break
        return receipts


def _when(value) -> datetime.datetime | None:
    if not value:
        return None
    try:
        naive = datetime.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return timezone.make_aware(naive)
