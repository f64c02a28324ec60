"""Tencent Cloud SMS (sms 2021-01-11) through the official SDK: SendSms with SmsSdkAppId,
SignName, TemplateId and TemplateParamSet (the variables by position, in the order the template
names them), up to 200 numbers a call; each number gets its own SerialNo and status code.

Receipts: the status callback (a JSON list naming each SerialNo as "sid") and PullSmsSendStatus.
Tencent cannot be asked whether it received a given call, so a call in doubt counts as sent.
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

from .aliyun import groups
from .base import Backend, BadSignature, Outgoing, Receipt, Result, verify_token

TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded", "ServerNetworkError")
TRANSIENT_CODES = {"FailedOperation.InsufficientBalanceInSmsPackage"}


def transient_code(code: str) -> bool:
    return (code or "").startswith(TRANSIENT_PREFIXES) or code in TRANSIENT_CODES


def _national(phone: str) -> str:
    """ "+8613812345678" -> "13812345678"."""
    return phone[3:] if phone.startswith("+86") else phone


@dataclass
class TencentBackend(Backend):
    name: str = "tencent"
    max_batch: int = 200

    @functools.cached_property
    def client(self):
        """The SDK's client, made on first use (receipts need no credentials)."""
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        profile = HttpProfile(
            protocol=self.options.get("protocol") or "https",
            endpoint=self.options.get("endpoint") or "sms.tencentcloudapi.com",
            reqTimeout=int(float(self.options.get("timeout", 10))),
        )
        return sms_client.SmsClient(
            credential.Credential(
                self.options.get("secret_id") or "", self.options.get("secret_key") or ""
            ),
            self.options.get("region") or "ap-guangzhou",
            ClientProfile(httpProfile=profile),
        )

    def request_for(self, call: Sequence[Outgoing], context: str):
        """The SDK's request object for one call (tests look at it)."""
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = ["+86" + m.phone for m in call]
        request.SmsSdkAppId = str(self.options.get("sdk_app_id", ""))
        request.SignName = self.options.get("sign_name", "")
        request.TemplateId = call[0].template_code
        request.TemplateParamSet = list(call[0].params.values())
        request.SessionContext = context
        return request

    def send(self, messages: Sequence[Outgoing]) -> list[Result]:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        results: list[Result] = []
        for call in groups(messages, min(self.max_batch, 200)):
            request = self.request_for(call, "wuyi-" + uuid.uuid4().hex[:20])
            try:
                response = self.client.SendSms(request)
            except TencentCloudSDKException as exc:
                code = str(exc.code or "")
                error = f"{code}: {exc.message}"[:200]
                if code == "ClientNetworkError":
                    results += [Result(m.key, ok=False, uncertain=True, error=error) for m in call]
                else:
                    transient = transient_code(code)
                    results += [
                        Result(m.key, ok=False, transient=transient, error=error) for m in call
                    ]
                continue
            except Exception as exc:  # anything else from the wire: the call may have arrived
                error = type(exc).__name__
                results += [Result(m.key, ok=False, uncertain=True, error=error) for m in call]
                continue
            statuses = {_national(s.PhoneNumber or ""): s for s in response.SendStatusSet or []}
            for m in call:
                status = statuses.get(m.phone)
                if status is None:
                    results.append(Result(m.key, ok=False, uncertain=True, error="no status"))
                elif (status.Code or "").lower() == "ok":
                    results.append(Result(m.key, ok=True, provider_id=status.SerialNo or ""))
                else:
                    results.append(
                        Result(
                            m.key,
                            ok=False,
                            transient=transient_code(status.Code or ""),
                            error=f"{status.Code}: {status.Message}"[:200],
                        )
                    )
        return results

    def receipts_from_request(
        self, *, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> list[Receipt]:
        verify_token(str(self.options.get("receipt_token", "")), query.get("token", ""))
        try:
            items = json.loads(body)
            return [
                Receipt(
                    provider_id=str(item["sid"]),
                    phone=str(item.get("mobile") or ""),
                    delivered=item.get("report_status") == "SUCCESS",
                    error=str(item.get("errmsg") or item.get("description") or "")[:200],
                    at=_when(item.get("user_receive_time")),
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadSignature("unreadable receipts") from exc

    def receipt_reply(self, updated: int) -> dict[str, Any]:
        """What the provider's receipt push expects back: anything else and it pushes again."""
        return {"result": 0, "errmsg": "OK"}

    def poll_receipts(self, pending: Sequence[tuple[str, str, datetime.datetime]]) -> list[Receipt]:
        from tencentcloud.sms.v20210111 import models

        request = models.PullSmsSendStatusRequest()
        request.SmsSdkAppId = str(self.options.get("sdk_app_id", ""))
        request.Limit = 100
        response = self.client.PullSmsSendStatus(request)
        return [
            Receipt(
                provider_id=item.SerialNo or "",
                phone=item.SubscriberNumber or "",
                delivered=item.ReportStatus == "SUCCESS",
                error=(item.Description or "")[:200] if item.ReportStatus != "SUCCESS" else "",
                at=_when(item.UserReceiveTime),
            )
            for item in response.PullSmsSendStatusSet or []
        ]


def _when(value) -> datetime.datetime | None:
    if not value:
        return None
    try:
        naive = datetime.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return timezone.make_aware(naive)
