"""Residents ordering through the compound's link: a code to a number on the register, limited
tries and codes, nothing told about numbers that are not on it, the order itself."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from messaging.models import Message
from supplies import rules, services
from supplies.models import Order, OrderLink, SelfOrderCode
from tests.factories import ResidentFactory
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.clock  # which day it is matters: make test-clock

PHONE = "13912345678"


@pytest.fixture
def link(secretary_a, compound_a):
    return services.order_link_get_or_create(by=secretary_a, compound=compound_a)


@pytest.fixture
def resident(compound_a, households):
    return ResidentFactory(compound=compound_a, household=households[0], phone=PHONE)


@pytest.fixture
def self_sms(sms):
    from messaging.models import SmsTemplate
    from supplies import notify

    SmsTemplate.objects.filter(name=notify.SELF_ORDER).update(code="SMS_8", approved=True)
    return sms


def _code():
    return Message.objects.filter(purpose="supplies_self_order").latest("pk").variables["code"]


def test_one_link_per_compound_and_only_the_secretary(secretary_a, volunteer, compound_a, link):
    assert services.order_link_get_or_create(by=secretary_a, compound=compound_a) == link
    with pytest.raises(PermissionDenied):
        services.order_link_get_or_create(by=volunteer, compound=compound_a)


def test_code_proves_the_household(self_sms, link, resident, households):
    services.self_code_send(link=link, phone=PHONE)
    assert services.self_code_check(link=link, phone=PHONE, code=_code()) == households[0]
    # A code is used once.
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=_code())


def test_unknown_number_gets_nothing_and_learns_nothing(self_sms, link, resident):
    services.self_code_send(link=link, phone="13700000000")
    assert not Message.objects.exists()
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone="13700000000", code="123456")


def test_wrong_code_limited_attempts(self_sms, link, resident):
    services.self_code_send(link=link, phone=PHONE)
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    for _n in range(rules.SELF_CODE_ATTEMPTS):
        with pytest.raises(Refused):
            services.self_code_check(link=link, phone=PHONE, code=wrong)
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=code)


def test_codes_per_hour_and_expiry(self_sms, link, resident):
    for _n in range(rules.SELF_CODES_PER_HOUR):
        services.self_code_send(link=link, phone=PHONE)
    with pytest.raises(Refused):
        services.self_code_send(link=link, phone=PHONE)
    assert SelfOrderCode.objects.count() == rules.SELF_CODES_PER_HOUR
    later = timezone.now() + datetime.timedelta(minutes=rules.SELF_CODE_MINUTES + 1)
    with pytest.raises(Refused):
        services.self_code_check(link=link, phone=PHONE, code=_code(), now=later)


def test_revoked_link_is_refused(self_sms, secretary_a, link, resident, buy, households):
    services.order_link_revoke(by=secretary_a, link=link)
    with pytest.raises(Refused):
        services.self_code_send(link=link, phone=PHONE)
    with pytest.raises(PermissionDenied):
        services.order_submit(
            by=None,
            link=link,
            household=households[0],
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key="k",
        )
    assert not Order.objects.exists()


def test_link_of_another_compound_cannot_order_for_this_one(compound_b, buy, households):
    from tests.factories import OrderLinkFactory

    other = OrderLinkFactory(compound=compound_b)
    with pytest.raises(PermissionDenied):
        services.order_submit(
            by=None,
            link=other,
            household=households[0],
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key="k",
        )
    assert not Order.objects.exists()


def test_resident_orders_through_the_page(self_sms, client, link, resident, buy, households):
    url = reverse("supplies:self", args=[link.token])
    assert client.get(url).status_code == 200
    page = client.post(url, {"action": "phone", "phone": PHONE})
    assert page.status_code == 200 and "id_code" in page.text
    bad = client.post(url, {"action": "code", "phone": PHONE, "code": "x"})
    assert bad.status_code == 400
    assert client.post(url, {"action": "code", "phone": PHONE, "code": _code()}).status_code == 302
    page = client.get(url)
    assert buy.title in page.text and households[0].address in page.text
    rice = buy.items.order_by("position").first()
    client.post(url, {"action": "order", "buy": buy.pk, "client_key": "abc", f"q{rice.pk}": "2"})
    order = Order.objects.get()
    assert order.household == households[0] and order.amount_due == 90
    assert order.created_by is None
    assert "已提交" in client.get(url).text or "Submitted" in client.get(url).text


def test_unknown_or_stopped_link_is_404(client, secretary_a, link):
    assert client.get(reverse("supplies:self", args=["nope"])).status_code == 404
    services.order_link_revoke(by=secretary_a, link=link)
    assert client.get(reverse("supplies:self", args=[link.token])).status_code == 404


def test_links_page(login, secretary_a, volunteer, compound_a):
    client = login(secretary_a)
    assert client.get(reverse("supplies:links")).status_code == 200
    client.post(reverse("supplies:links"), {"compound": compound_a.pk, "action": "create"})
    assert OrderLink.objects.filter(compound=compound_a, active=True).count() == 1
    assert login(volunteer).get(reverse("supplies:links")).status_code == 403


def test_old_codes_are_purged(self_sms, link, resident):
    from supplies.tasks import purge_self_codes

    services.self_code_send(link=link, phone=PHONE)
    SelfOrderCode.objects.update(sent_at=timezone.now() - datetime.timedelta(days=2))
    services.self_code_send(link=link, phone="13700000000")
    assert purge_self_codes() == "deleted 1 ordering codes"
    assert SelfOrderCode.objects.count() == 1


def test_demo_texts_are_the_migrations_texts():
    import importlib

    from supplies import notify

    first = importlib.import_module("supplies.migrations.0002_sms_templates")
    second = importlib.import_module("supplies.migrations.0004_self_order_sms_template")
    assert {**first.TEMPLATES, **second.TEMPLATES} == notify.TEXTS
