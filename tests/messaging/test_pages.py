"""The SMS pages, the API and the receipt webhooks, as their users rely on them."""

import json
import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from messaging import outbox as engine
from messaging import services
from messaging.backends import Receipt
from messaging.backends.base import sign
from messaging.backends.simple import outbox
from messaging.models import Message, OptOut, Recipient
from tests.messaging.conftest import run_dispatch

VARS = {"var_gate": "东门", "var_round": "3"}


def compose_post(client, building, template, **extra):
    data = {
        "template": template.pk,
        "audience": "residents.buildings",
        "t:residents.buildings": [str(building.pk)],
        "send_at": "",
        "key": "form-key-1",
        **VARS,
        **extra,
    }
    return client.post("/messaging/new/", data)


def test_secretary_previews_then_sends(login, secretary_a, compound_a, template, residents_a):
    client = login(secretary_a)
    page = client.get("/messaging/new/")
    assert page.status_code == 200
    assert "核酸检测通知".encode() in page.content
    assert f"{compound_a.name} 1号楼".encode() in page.content
    b1 = compound_a.buildings.get(number="1")
    preview = compose_post(client, b1, template, action="preview")
    assert preview.status_code == 200
    body = preview.content.decode()
    assert '<strong class="count">3</strong>' in body
    assert "【无疫社区】明日8:00在东门开展第3轮核酸检测" in body
    assert Message.objects.count() == 0
    # 发送 shows the preview once more and asks; nothing is queued before the answer.
    asked = compose_post(client, b1, template, action="send")
    assert asked.status_code == 200 and Message.objects.count() == 0
    body = asked.content.decode()
    assert 'value="confirm"' in body and "【无疫社区】明日8:00在东门开展第3轮核酸检测" in body
    checked = re.search(r'name="checked" value="([0-9a-f]+)"', body)[1]
    # A form changed since the preview is shown again, not sent.
    changed = compose_post(client, b1, template, action="confirm", checked=checked, var_gate="西门")
    assert changed.status_code == 200 and Message.objects.count() == 0
    # ... with every audience to choose from again (a confirmation reads only its own), the
    # building still chosen.
    body = changed.content.decode()
    assert 'name="t:residents.buildings"' in body and 'name="t:messaging.numbers"' in body
    assert f'<option value="{b1.pk}" selected>' in body
    assert body.count('type="radio" name="audience"') >= 3
    sent = compose_post(client, b1, template, action="confirm", checked=checked)
    assert sent.status_code == 302
    message = Message.objects.get()
    assert sent["Location"] == f"/messaging/{message.pk}/"
    # A double submit of the same form sends nothing more.
    again = compose_post(client, b1, template, action="confirm", checked=checked)
    assert again["Location"] == f"/messaging/{message.pk}/"
    assert Message.objects.count() == 1
    run_dispatch()
    detail = client.get(sent["Location"]).content.decode()
    assert "138****0001" in detail and "13800000001" not in detail
    assert '<strong class="sent-count">3</strong>' in detail


def test_the_template_select_loads_its_variables(login, secretary_a, template):
    page = login(secretary_a).get("/messaging/new/", {"template": template.pk})
    assert b'name="var_gate"' in page.content and b'name="var_round"' in page.content


def test_bad_input_on_the_page_writes_nothing(
    login, secretary_a, compound_a, template, residents_a
):
    client = login(secretary_a)
    b1 = compound_a.buildings.get(number="1")
    missing = compose_post(client, b1, template, action="send", var_round="")
    assert missing.status_code == 400
    assert "填写".encode() in missing.content or "round" in missing.content.decode()
    past = compose_post(client, b1, template, action="send", send_at="2020-01-01T08:00")
    assert past.status_code == 400
    numbers = client.post(
        "/messaging/new/",
        {
            "template": template.pk,
            "audience": "messaging.numbers",
            "t:messaging.numbers": "13800000001\n12345\n",
            "action": "send",
            **VARS,
        },
    )
    assert numbers.status_code == 400
    assert "第2行".encode() in numbers.content
    assert Message.objects.count() == 0 and Recipient.objects.count() == 0


def test_who_may_open_what(login, volunteer, district_staff, secretary_b, secretary_a, template):
    for url in ("/messaging/", "/messaging/new/", "/messaging/opt-outs/", "/messaging/daily/"):
        assert login(volunteer).get(url).status_code == 403
    assert login(district_staff).get("/messaging/").status_code == 200
    assert login(district_staff).get("/messaging/daily/").status_code == 200
    assert login(district_staff).get("/messaging/new/").status_code == 403
    assert login(secretary_b).get("/messaging/daily/").status_code == 403


def test_results_page_shows_rate_and_reasons(
    login, district_staff, secretary_a, compound_a, template, residents_a
):
    outbox.refuse["13800000003"] = ("空号", False)
    b1 = compound_a.buildings.get(number="1")
    message = services.campaign_create(
        by=secretary_a,
        template_id=template.pk,
        variables={"gate": "东门", "round": "3"},
        audience="residents.buildings",
        targets=[str(b1.pk)],
    )
    run_dispatch()
    first = Recipient.objects.get(phone="13800000001")
    engine.receipts_apply(
        provider="locmem",
        receipts=[Receipt(provider_id=first.provider_id, delivered=True)],
    )
    page = login(district_staff).get(f"/messaging/{message.pk}/").content.decode()
    assert "空号" in page
    assert '<strong class="rate">33%</strong>' in page  # 1 delivered of 3 handed over
    failed = login(district_staff).get(f"/messaging/{message.pk}/", {"status": "failed"})
    assert "138****0003" in failed.content.decode()
    assert (
        login(district_staff).get(f"/messaging/{message.pk}/", {"status": "x"}).status_code == 400
    )


def test_opt_out_page(login, secretary_a, volunteer):
    client = login(secretary_a)
    bad = client.post("/messaging/opt-outs/", {"phone": "12345"})
    assert bad.status_code == 400 and OptOut.objects.count() == 0
    done = client.post("/messaging/opt-outs/", {"phone": "13800000071", "note": "来电"})
    assert done.status_code == 302
    page = client.get("/messaging/opt-outs/").content.decode()
    assert "*******0071" in page and "13800000071" not in page
    assert (
        login(volunteer).post("/messaging/opt-outs/", {"phone": "13800000072"}).status_code == 403
    )
    opt_out = OptOut.objects.get()
    assert login(secretary_a).post(f"/messaging/opt-outs/{opt_out.pk}/remove/").status_code == 302
    assert OptOut.objects.count() == 0


# ----------------------------------------------------------------------------- webhooks


@pytest.fixture
def sent_http(settings, template, compound_a):
    settings.WUYI_SMS_HTTP_SECRET = "hook-secret"
    settings.WUYI_SMS_RECEIPT_TOKEN = "url-token"
    services.send_sms(
        to="13800000081",
        template=template,
        variables={"gate": "东门", "round": "1"},
        purpose="t",
        idempotency_key="t",
        place=compound_a,
    )
    run_dispatch()
    recipient = Recipient.objects.get()
    # As if the gateway had sent it: the receipt names the gateway's id.
    Recipient.objects.filter(pk=recipient.pk).update(provider="http", provider_id="g-1")
    return recipient


def test_a_signed_receipt_is_applied_once(client, sent_http):
    body = json.dumps({"receipts": [{"message_id": "g-1", "status": "delivered"}]}).encode()
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign("hook-secret", body).items()
    }
    for expected in (1, 0):
        response = client.post(
            "/messaging/receipts/http/", body, content_type="application/json", **headers
        )
        assert response.status_code == 200
        assert response.json() == {"updated": expected}
    assert Recipient.objects.get().status == "delivered"


def test_a_receipt_with_a_bad_signature_changes_nothing(client, sent_http):
    body = json.dumps({"receipts": [{"message_id": "g-1", "status": "delivered"}]}).encode()
    forged = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign("guess", body).items()}
    response = client.post(
        "/messaging/receipts/http/", body, content_type="application/json", **forged
    )
    assert response.status_code == 403
    assert (
        client.post("/messaging/receipts/http/", body, content_type="application/json").status_code
        == 403
    )
    assert (
        client.post(
            "/messaging/receipts/aliyun/?token=wrong", b"[]", content_type="application/json"
        ).status_code
        == 403
    )
    assert client.get("/messaging/receipts/http/").status_code == 405
    assert Recipient.objects.get().status == "sent"


def test_aliyun_and_tencent_receipts_by_token(client, sent_http):
    Recipient.objects.update(provider="aliyun", provider_id="wuyi-out-1")
    report = [
        {
            "phone_number": "13800000081",
            "success": False,
            "err_code": "MK:0001",
            "out_id": "wuyi-out-1",
            "biz_id": "x",
        }
    ]
    response = client.post(
        "/messaging/receipts/aliyun/?token=url-token",
        json.dumps(report),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["code"] == 0
    recipient = Recipient.objects.get()
    assert recipient.status == "failed" and recipient.last_error == "MK:0001"
    Recipient.objects.update(provider="tencent", provider_id="sid-9", status="sent")
    report = [
        {"mobile": "13800000081", "report_status": "SUCCESS", "sid": "sid-9", "errmsg": "DELIVRD"}
    ]
    response = client.post(
        "/messaging/receipts/tencent/?token=url-token",
        json.dumps(report),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json() == {"result": 0, "errmsg": "OK"}
    assert Recipient.objects.get().status == "delivered"


# ----------------------------------------------------------------------------- API


def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_api_creates_reads_and_cancels(
    secretary_a, volunteer, compound_a, template, unapproved, residents_a
):
    b1 = compound_a.buildings.get(number="1")
    body = {
        "template": template.pk,
        "variables": {"gate": "东门", "round": "3"},
        "audience": "residents.buildings",
        "targets": [str(b1.pk)],
        "send_at": "2099-01-01T08:00:00+08:00",
        "idempotency_key": "api-1",
    }
    assert api(volunteer).post("/api/campaigns/", body, format="json").status_code == 403
    refused = api(secretary_a).post(
        "/api/campaigns/", {**body, "template": unapproved.pk}, format="json"
    )
    assert refused.status_code == 400 and "template" in refused.json()
    bad = api(secretary_a).post(
        "/api/campaigns/", {**body, "variables": {"gate": "东门"}}, format="json"
    )
    assert bad.status_code == 400 and "var_round" in bad.json()
    far = api(secretary_a).post("/api/campaigns/", body, format="json")
    assert far.status_code == 400 and "send_at" in far.json()  # more than a month ahead
    del body["send_at"]
    created = api(secretary_a).post("/api/campaigns/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["recipient_count"] == 3
    assert (
        api(secretary_a).post("/api/campaigns/", body, format="json").json()["id"]
        == created.json()["id"]
    )
    pk = created.json()["id"]
    assert api(secretary_a).get("/api/campaigns/").json()["count"] == 1
    assert api(volunteer).get("/api/campaigns/").json()["count"] == 0
    assert api(volunteer).get(f"/api/campaigns/{pk}/").status_code == 404
    cancelled = api(secretary_a).post(f"/api/campaigns/{pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    results = api(secretary_a).get(f"/api/campaigns/{pk}/results/").json()
    assert results["counts"] == {"cancelled": 3} and results["total"] == 3
    templates = api(secretary_a).get("/api/sms-templates/").json()["results"]
    assert {t["name"]: t["variables"] for t in templates}["核酸检测通知"] == ["gate", "round"]
