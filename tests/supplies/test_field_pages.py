"""What secretaries and volunteers hit on the supplies pages (issue 19): a payment undone, a
delivery card with its items and a call button, the method kept after a wrong code, file
names, building order, the median, the ordering links' poster and payment note."""

import re
from urllib.parse import unquote

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from compounds.models import Building
from residents.models import PersonalDataAccess
from supplies import services
from supplies.models import GroupBuyStatus, OrderLink, OrderStatus
from tests.factories import BuildingFactory, UserFactory
from tests.supplies.test_services import _code, _submit
from wuyi.lib.durations import minutes_text
from wuyi.lib.errors import Refused


@pytest.fixture
def bought(secretary_a, buy, households, key):
    orders = [_submit(secretary_a, h, buy, key(), rice=2, oil=1) for h in households]
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    return orders


# ----------------------------------------------------------------------------- payment undone


def test_a_payment_is_undone_and_the_history_says_who(secretary_a, bought):
    order = services.order_record_payment(by=secretary_a, order=bought[0], method="wechat")
    assert order.paid and order.payment_method == "wechat"
    undone = services.order_undo_payment(by=secretary_a, order=order)
    undone.refresh_from_db()
    assert not undone.paid and undone.payment_method == "" and undone.paid_at is None
    event = undone.events.order_by("-pk").first()
    assert event.by == secretary_a and "微信转账" in event.note
    # A second undo (a double tap) finds nothing to undo and changes nothing.
    events = undone.events.count()
    with pytest.raises(Refused):
        services.order_undo_payment(by=secretary_a, order=undone)
    assert undone.events.count() == events


def test_only_the_organiser_undoes_a_payment(login, secretary_a, volunteer, bought):
    services.order_record_payment(by=secretary_a, order=bought[0], method="cash")
    url = reverse("supplies:order_unpay", args=[bought[0].pk])
    assert login(volunteer).post(url).status_code == 403
    bought[0].refresh_from_db()
    assert bought[0].paid


def test_reconciliation_offers_undo_on_paid_rows(login, secretary_a, buy, bought):
    client = login(secretary_a)
    client.post(
        reverse("supplies:order_pay", args=[bought[0].pk]),
        {"method": "wechat", "paid": "on", "next": "reconciliation"},
    )
    page = client.get(reverse("supplies:reconciliation", args=[buy.pk])).content.decode()
    unpay = reverse("supplies:order_unpay", args=[bought[0].pk])
    assert unpay in page
    response = client.post(unpay, {"next": "reconciliation"})
    assert response["Location"] == reverse("supplies:reconciliation", args=[buy.pk])
    bought[0].refresh_from_db()
    assert not bought[0].paid


# ----------------------------------------------------------------------------- delivery cards


def test_delivery_card_lists_the_items_and_calls_the_household(
    sms, login, volunteer, compound_a, bought
):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    client = login(volunteer)
    page = client.get(reverse("supplies:deliveries")).content.decode()
    assert "大米 × 2" in page and "食用油 × 1" in page
    call = reverse("supplies:call", args=[order.pk])
    assert call in page and "13800138000" not in page
    response = client.post(call)
    assert response.status_code == 303 and response["Location"] == "tel:13800138000"
    logged = PersonalDataAccess.objects.get(kind="call")
    assert logged.user == volunteer and logged.detail["via"] == f"supplies.order:{order.pk}"


def test_only_the_carrier_calls_from_a_delivery(sms, login, volunteer, compound_a, bought):
    services.orders_claim(by=volunteer, orders=[bought[0].pk])
    other = UserFactory(role="volunteer", posted_to=compound_a)
    response = login(other).post(reverse("supplies:call", args=[bought[0].pk]))
    assert response.status_code == 403
    assert not PersonalDataAccess.objects.filter(kind="call").exists()


def test_the_method_chosen_survives_a_wrong_code(sms, login, volunteer, bought):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    wrong = "000000" if _code(order) != "000000" else "111111"
    client = login(volunteer)
    response = client.post(
        reverse("supplies:deliver", args=[order.pk]),
        {"action": "delivered", "how": "hand", "code": wrong},
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    select = re.search(rf'<select name="how" id="how-{order.pk}">(.*?)</select>', page, re.S)[1]
    assert re.search(r'<option value="hand" selected>', select)
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY


# ----------------------------------------------------------------------------- smaller things


def test_reconciliation_file_is_named_in_chinese_with_an_ascii_fallback(login, secretary_a, buy):
    response = login(secretary_a).get(reverse("supplies:reconciliation_xlsx", args=[buy.pk]))
    header = response["Content-Disposition"]
    assert f'filename="group-buy-{buy.pk}.xlsx"' in header
    encoded = re.search(r"filename\*=UTF-8''(\S+)", header)[1]
    assert unquote(encoded) == "对账-12月1日粮油团购.xlsx"
    assert "no-store" in response["Cache-Control"]


def test_order_entry_lists_buildings_in_natural_order(login, secretary_a, compound_a, buy):
    for number in ("10", "11", "3"):
        BuildingFactory(compound=compound_a, number=number)
    page = login(secretary_a).get(reverse("supplies:order_add", args=[buy.pk])).content.decode()
    numbers = re.findall(rf"{compound_a.name} (\d+)号楼</option>", page)
    assert numbers == ["1", "2", "3", "10", "11"]
    assert Building.objects.filter(compound=compound_a).count() == 5


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(3060, "2天3小时"), (2880, "2天"), (200, "3小时20分钟"), (120, "2小时"), (45, "45分钟")],
)
def test_the_median_reads_as_days_and_hours(minutes, text):
    with translation.override("zh-hans"):
        assert minutes_text(minutes) == text
    assert minutes_text(None) == "—"


def test_the_poster_carries_the_public_link_and_how_to_pay(login, secretary_a, compound_a):
    link = services.order_link_get_or_create(by=secretary_a, compound=compound_a)
    client = login(secretary_a)
    client.post(
        reverse("supplies:links"),
        {"compound": compound_a.pk, "action": "payment", "payment_note": "送达后微信转账给张书记"},
    )
    path = reverse("supplies:self", args=[link.token])
    local = client.get(reverse("supplies:poster", args=[compound_a.pk]), HTTP_HOST="127.0.0.1")
    body = local.content.decode()
    assert "<svg" in body and "送达后微信转账给张书记" in body
    # Printed from the committee's desktop at 127.0.0.1: the page says a phone cannot open it.
    assert 'id="local-address"' in body and f"http://127.0.0.1{path}" in body
    with override_settings(WUYI_PUBLIC_URL="https://wuyi.example.gov.cn/"):
        public = client.get(reverse("supplies:poster", args=[compound_a.pk]))
    body = public.content.decode()
    assert f"https://wuyi.example.gov.cn{path}" in body and 'id="local-address"' not in body
    # The residents' page says it too.
    client.logout()
    assert "送达后微信转账给张书记" in client.get(path).content.decode()


def test_payment_note_is_bounded_and_kept_by_organisers_only(login, volunteer, compound_a):
    with pytest.raises(PermissionDenied):
        services.payment_note_set(by=volunteer, compound=compound_a, note="x")
    secretary = UserFactory(role="secretary", posted_to=compound_a.community)
    with pytest.raises(Refused):
        services.payment_note_set(by=secretary, compound=compound_a, note="长" * 301)
    assert not OrderLink.objects.exists()
