"""Texts users read: money to the tenth of a cent, the ordering page's word for its code, and
help texts that name no real place."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from messaging.models import Message, SmsTemplate
from tests.factories import OrderLinkFactory


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.045"), "0.045"),
        (Decimal("0.135"), "0.135"),
        (Decimal("0.09"), "0.09"),
        (Decimal("12.5"), "12.50"),
        (Decimal("1000"), "1000.00"),
        ("0.0450", "0.045"),
        (None, ""),
    ],
)
def test_yuan(value, shown):
    from wuyi.lib.money import yuan

    assert yuan(value) == shown


def test_one_sms_costs_0_045_yuan_on_the_preview_and_the_message(sms_outbox, login, secretary_a):
    """A message to one number costs 0.045 yuan: not 0.04 (the estimate was kept in cents,
    rounded half to even) nor 0.05 (the preview's two decimals)."""
    template = SmsTemplate.objects.create(
        name="通知", code="SMS_1", body="今晚{time}送菜到楼下。", approved=True
    )
    client = login(secretary_a)
    data = {
        "template": template.pk,
        "audience": "messaging.numbers",
        "t:messaging.numbers": "13800000001",
        "send_at": "",
        "key": "form-key-money",
        "var_time": "8点",
    }
    preview = client.post("/messaging/new/", {**data, "action": "preview"})
    assert preview.status_code == 200, preview.content.decode()[:3000]
    assert "<strong>0.045</strong>" in preview.content.decode()
    asked = client.post("/messaging/new/", {**data, "action": "send"})
    checked = re.search(r'name="checked" value="([^"]+)"', asked.content.decode()).group(1)
    sent = client.post("/messaging/new/", {**data, "action": "confirm", "checked": checked})
    assert sent.status_code == 302, sent.content.decode()[:3000]
    message = Message.objects.get()
    assert message.cost_estimate == Decimal("0.045")
    detail = client.get(sent["Location"]).content.decode()
    assert "0.045 元" in detail and "0.04 元" not in detail


def test_the_ordering_page_asks_for_the_verification_code(sms_outbox, client, compound_a):
    link = OrderLinkFactory(compound=compound_a)
    url = reverse("supplies:self", args=[link.token])
    building = compound_a.buildings.get(number="1")
    response = client.post(
        url,
        {
            "action": "phone",
            "phone": "13800000001",
            "building": building.pk,
            "unit": "1",
            "room": "101",
        },
    )
    text = response.content.decode()
    assert 'for="id_code"' in text
    assert '<label for="id_code">验证码</label>' in text


def test_the_party_branch_form_names_no_real_community(login, secretary_a):
    text = login(secretary_a).get(reverse("volunteers:branch_add")).content.decode()
    assert "党支部群" in text  # the help text is there
    assert "天庆社区" not in text
