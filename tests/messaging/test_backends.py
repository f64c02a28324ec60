"""Each provider backend against its SDK's request objects and a local HTTP fake: what goes on
the wire, and how each answer is read. Nothing here reaches the internet."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from messaging.backends import Outgoing, make_backend
from messaging.backends.aliyun import groups
from messaging.backends.base import BadSignature, sign, verify
from tests.messaging.gateway import Gateway


def outgoing(n: int, *, params=None, start: int = 0) -> list[Outgoing]:
    params = params if params is not None else {"gate": "东门", "round": "3"}
    return [
        Outgoing(
            key=str(start + i + 1),
            phone=f"1380000{start + i:04d}",
            template_code="SMS_1",
            params=params,
            text=f"明日8:00在{params.get('gate', '')}开展第{params.get('round', '')}轮核酸检测",
        )
        for i in range(n)
    ]


class Capture:
    """A loopback server that records each request and answers with the next canned reply."""

    def __init__(self, replies):
        self.requests = []
        self.replies = list(replies)
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                capture.requests.append((self.path, dict(self.headers), body))
                status, reply = capture.replies.pop(0) if capture.replies else (500, {})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def capture():
    made = []

    def _capture(*replies):
        server = Capture(replies)
        made.append(server)
        return server

    yield _capture
    for server in made:
        server.close()


# ----------------------------------------------------------------------------- signatures


def test_signatures_check_body_secret_and_age():
    body = b'{"receipts": []}'
    headers = sign("s3cret", body)
    verify("s3cret", body, headers)
    for secret, data, h in (
        ("other", body, headers),
        ("s3cret", body + b" ", headers),
        ("s3cret", body, sign("s3cret", body, timestamp=1_000_000)),
        ("", body, headers),
        ("s3cret", body, {}),
    ):
        with pytest.raises(BadSignature):
            verify(secret, data, h)


# ----------------------------------------------------------------------------- the HTTP gateway


@pytest.fixture
def gateway(settings):
    gw = Gateway(secret="gw-secret")
    server = gw.serve()
    settings.WUYI_SMS_HTTP_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.WUYI_SMS_HTTP_SECRET = "gw-secret"
    settings.WUYI_SMS_TIMEOUT = 0.5
    yield gw
    gw.release.set()
    server.shutdown()


def test_http_gateway_reports_each_recipient(gateway):
    backend = make_backend("http")
    gateway.retry_once.add("13800000001")
    results = backend.send(outgoing(3))
    assert [(r.ok, r.transient) for r in results] == [(True, False), (False, True), (True, False)]
    assert results[0].provider_id.startswith("g")
    assert dict(gateway.accepted) == {"13800000000": 1, "13800000002": 1}
    assert backend.lookup(outgoing(3)) == {"1": results[0].provider_id, "3": results[2].provider_id}


def test_http_gateway_busy_refused_and_timeout(gateway, settings):
    backend = make_backend("http")
    gateway.fail_calls.add(1)
    assert all(r.transient and not r.uncertain for r in backend.send(outgoing(2)))
    gateway.slow_calls[2] = 2.0  # accepted, answered after the client gave up
    results = backend.send(outgoing(2, start=10))
    assert all(r.uncertain for r in results)
    assert set(backend.lookup(outgoing(2, start=10))) == {"11", "12"}
    settings.WUYI_SMS_HTTP_SECRET = "wrong"
    refused = make_backend("http").send(outgoing(1, start=20))
    assert not refused[0].ok and not refused[0].transient and "401" in refused[0].error


def test_http_gateway_unreachable_is_transient(settings):
    settings.WUYI_SMS_HTTP_URL = "http://127.0.0.1:9"  # nothing listens there
    results = make_backend("http").send(outgoing(2))
    assert all(r.transient and not r.uncertain for r in results)


# ----------------------------------------------------------------------------- Aliyun


@pytest.fixture
def aliyun(settings):
    settings.WUYI_SMS_ALIYUN_ACCESS_KEY_ID = "test-id"
    settings.WUYI_SMS_ALIYUN_ACCESS_KEY_SECRET = "test-secret"
    settings.WUYI_SMS_PROVIDER_PROTOCOL = "http"
    settings.WUYI_SMS_SIGN_NAME = "无疫社区"

    def _make(endpoint):
        settings.WUYI_SMS_ALIYUN_ENDPOINT = endpoint
        return make_backend("aliyun")

    return _make


def _aliyun_params(request) -> dict:
    path, _headers, body = request
    params = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
    params.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
    return params


def test_aliyun_request_object_groups_by_variables():
    messages = outgoing(1500) + outgoing(3, params={"gate": "西门", "round": "3"}, start=5000)
    calls = groups(messages, 1000)
    assert [len(c) for c in calls] == [1000, 500, 3]
    backend = make_backend("aliyun")
    request = backend.request_for(calls[2], "wuyi-x")
    assert request.phone_numbers == "13800005000,13800005001,13800005002"
    assert json.loads(request.template_param) == {"gate": "西门", "round": "3"}
    assert request.template_code == "SMS_1" and request.out_id == "wuyi-x"


def test_aliyun_sends_through_the_sdk(capture, aliyun):
    server = capture(
        (200, {"Code": "OK", "Message": "OK", "BizId": "900", "RequestId": "r1"}),
        (200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r2"}),
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": "r3"}),
    )
    backend = aliyun(server.endpoint)
    ok = backend.send(outgoing(2))
    assert all(r.ok for r in ok) and ok[0].provider_id == ok[1].provider_id
    sent = _aliyun_params(server.requests[0])
    headers = {k.lower(): v for k, v in server.requests[0][1].items()}
    assert headers["x-acs-action"] == "SendSms"
    assert "Credential=test-id," in headers["authorization"]
    assert sent["PhoneNumbers"] == "13800000000,13800000001"
    assert sent["SignName"] == "无疫社区" and sent["TemplateCode"] == "SMS_1"
    assert json.loads(sent["TemplateParam"]) == {"gate": "东门", "round": "3"}
    assert sent["OutId"] == ok[0].provider_id
    illegal = backend.send(outgoing(1))
    assert not illegal[0].ok and not illegal[0].transient and "MOBILE" in illegal[0].error
    throttled = backend.send(outgoing(1))
    assert throttled[0].transient


def test_aliyun_server_error_and_no_answer(capture, aliyun, settings):
    server = capture((503, {"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "r"}))
    assert make_backend_transient(aliyun(server.endpoint))
    settings.WUYI_SMS_TIMEOUT = 0.5
    silent = aliyun("127.0.0.1:9")  # nothing listens: the SDK's network error
    results = silent.send(outgoing(1))
    assert not results[0].ok and (results[0].uncertain or results[0].transient)


def test_aliyun_lookup_after_midnight_finds_a_send_of_the_day_before(monkeypatch):
    """Aliyun lists sends per Beijing day: a batch in doubt at 00:01 whose SMS went at 23:59
    is found the day before, not sent twice."""
    import datetime
    import types
    import zoneinfo

    import time_machine

    backend = make_backend("aliyun")
    (message,) = outgoing(1)
    asked = []
    sent_on = datetime.date(2026, 12, 3)

    def details(phone, day):
        asked.append(day)
        dto = types.SimpleNamespace(
            template_code="SMS_1", content="【无疫社区】" + message.text, out_id="wuyi-77"
        )
        return [dto] if day == sent_on else []

    monkeypatch.setattr(backend, "_details", details)
    after = datetime.datetime(2026, 12, 4, 0, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(after, tick=False):
        assert backend.lookup([message]) == {"1": "wuyi-77"}
    assert asked == [datetime.date(2026, 12, 4), sent_on]


def make_backend_transient(backend) -> bool:
    results = backend.send(outgoing(2))
    return all(not r.ok and r.transient for r in results)


def test_aliyun_receipts_need_the_token(settings):
    settings.WUYI_SMS_RECEIPT_TOKEN = "tok"
    backend = make_backend("aliyun")
    body = json.dumps(
        [
            {
                "phone_number": "13800000000",
                "success": True,
                "out_id": "wuyi-1",
                "report_time": "2026-12-01 08:00:03",
            }
        ]
    ).encode()
    with pytest.raises(BadSignature):
        backend.receipts_from_request(body=body, headers={}, query={"token": "nope"})
    (receipt,) = backend.receipts_from_request(body=body, headers={}, query={"token": "tok"})
    assert receipt.delivered and receipt.provider_id == "wuyi-1" and receipt.at is not None


# ----------------------------------------------------------------------------- Tencent


@pytest.fixture
def tencent(settings):
    settings.WUYI_SMS_TENCENT_SECRET_ID = "AKIDtest"
    settings.WUYI_SMS_TENCENT_SECRET_KEY = "test-key"
    settings.WUYI_SMS_TENCENT_SDK_APP_ID = "1400000000"
    settings.WUYI_SMS_PROVIDER_PROTOCOL = "http"

    def _make(endpoint):
        settings.WUYI_SMS_TENCENT_ENDPOINT = endpoint
        return make_backend("tencent")

    return _make


def test_tencent_request_object_is_positional_and_200_a_call():
    backend = make_backend("tencent")
    assert [len(c) for c in groups(outgoing(450), 200)] == [200, 200, 50]
    request = backend.request_for(outgoing(2), "ctx")
    assert request.PhoneNumberSet == ["+8613800000000", "+8613800000001"]
    assert request.TemplateParamSet == ["东门", "3"]  # the template's order
    assert request.TemplateId == "SMS_1"


def test_tencent_sends_through_the_sdk(capture, tencent):
    server = capture(
        (
            200,
            {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": "s1",
                            "PhoneNumber": "+8613800000000",
                            "Code": "Ok",
                            "Message": "send success",
                            "Fee": 1,
                        },
                        {
                            "SerialNo": "",
                            "PhoneNumber": "+8613800000001",
                            "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                            "Message": "bad",
                            "Fee": 0,
                        },
                        {
                            "SerialNo": "",
                            "PhoneNumber": "+8613800000002",
                            "Code": "InternalError.Timeout",
                            "Message": "t",
                            "Fee": 0,
                        },
                    ],
                    "RequestId": "r1",
                }
            },
        ),
        (
            200,
            {
                "Response": {
                    "Error": {"Code": "RequestLimitExceeded", "Message": "slow down"},
                    "RequestId": "r2",
                }
            },
        ),
    )
    backend = tencent(server.endpoint)
    results = backend.send(outgoing(3))
    assert [(r.ok, r.transient) for r in results] == [(True, False), (False, False), (False, True)]
    assert results[0].provider_id == "s1"
    _path, headers, body = server.requests[0]
    sent = json.loads(body)
    assert headers["X-TC-Action"] == "SendSms"
    assert sent["SmsSdkAppId"] == "1400000000" and sent["TemplateId"] == "SMS_1"
    assert sent["PhoneNumberSet"][0] == "+8613800000000"
    assert sent["TemplateParamSet"] == ["东门", "3"]
    limited = backend.send(outgoing(1))
    assert limited[0].transient and not limited[0].ok
    assert backend.lookup(outgoing(1)) is None  # Tencent cannot say what it received


def test_tencent_receipts_need_the_token(settings):
    settings.WUYI_SMS_RECEIPT_TOKEN = "tok"
    backend = make_backend("tencent")
    body = json.dumps(
        [{"mobile": "13800000000", "report_status": "FAIL", "errmsg": "UNDELIV", "sid": "s1"}]
    ).encode()
    with pytest.raises(BadSignature):
        backend.receipts_from_request(body=body, headers={}, query={})
    (receipt,) = backend.receipts_from_request(body=body, headers={}, query={"token": "tok"})
    assert not receipt.delivered and receipt.error == "UNDELIV" and receipt.provider_id == "s1"
