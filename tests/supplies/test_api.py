"""The supplies API: scoped reads, idempotent order entry, delivery actions, refusals as 400."""

import uuid

import pytest
from rest_framework.test import APIClient

from messaging.models import Message
from supplies import services
from supplies.models import GroupBuyStatus, Order


@pytest.fixture
def api():
    def _as(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return _as


def _body(buy, household, key, quantity=1):
    return {
        "group_buy": buy.pk,
        "household": household.pk,
        "quantities": {str(buy.items.first().pk): quantity},
        "client_key": key,
        "phone": "13800138000",
    }


def test_reads_are_scoped(api, secretary_a, secretary_b, buy, rice):
    mine = api(secretary_a).get("/api/supplies/group-buys/")
    assert [b["id"] for b in mine.json()["results"]] == [buy.pk]
    assert api(secretary_b).get("/api/supplies/group-buys/").json()["results"] == []
    assert api(secretary_b).get(f"/api/supplies/group-buys/{buy.pk}/").status_code == 404
    assert api(secretary_a).get("/api/supplies/catalogue/").json()["count"] == 2


def test_order_entry_is_idempotent(api, secretary_a, buy, households):
    client = api(secretary_a)
    key = uuid.uuid4().hex
    first = client.post("/api/supplies/orders/", _body(buy, households[0], key), format="json")
    assert first.status_code == 201, first.json()
    again = client.post("/api/supplies/orders/", _body(buy, households[0], key), format="json")
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_bad_quantity_is_a_400_in_chinese(api, secretary_a, buy, households):
    r = api(secretary_a).post(
        "/api/supplies/orders/", _body(buy, households[0], "k1", quantity=-5), format="json"
    )
    assert r.status_code == 400 and "quantities" in r.json()
    assert "整数" in r.json()["quantities"][0]
    assert not Order.objects.exists()


def test_outsider_household_is_refused_as_unknown(api, secretary_b, buy, households):
    r = api(secretary_b).post(
        "/api/supplies/orders/", _body(buy, households[0], "k2"), format="json"
    )
    assert r.status_code == 400 and {"group_buy", "household"} <= set(r.json())
    assert not Order.objects.exists()


def test_claim_and_deliver(sms, api, secretary_a, volunteer, buy, households):
    for h in households:
        services.order_submit(
            by=secretary_a,
            household=h,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=uuid.uuid4().hex,
            phone="13800138000",
        )
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    client = api(volunteer)
    claimed = client.post(
        "/api/supplies/orders/claim/", {"building": households[3].building_id}, format="json"
    )
    assert claimed.status_code == 200 and len(claimed.json()) == 1
    order_id = claimed.json()[0]["id"]
    wrong = client.post(
        f"/api/supplies/orders/{order_id}/delivered/", {"how": "door", "code": "x"}, format="json"
    )
    assert wrong.status_code == 400 and "code" in wrong.json()
    code = Message.objects.get(purpose="supplies_handover").variables["code"]
    ok = client.post(
        f"/api/supplies/orders/{order_id}/delivered/", {"how": "door", "code": code}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["status"] == "delivered"
    # A volunteer takes no payments.
    paid = client.post(f"/api/supplies/orders/{order_id}/pay/", {"method": "cash"}, format="json")
    assert paid.status_code == 403
    assert (
        api(secretary_a)
        .post(f"/api/supplies/orders/{order_id}/pay/", {"method": "cash"}, format="json")
        .json()["paid"]
    )


def test_advance_refuses_a_jump(api, secretary_a, volunteer, buy):
    r = api(secretary_a).post(
        f"/api/supplies/group-buys/{buy.pk}/advance/", {"to": "done"}, format="json"
    )
    assert r.status_code == 400
    r = api(volunteer).post(
        f"/api/supplies/group-buys/{buy.pk}/advance/", {"to": "closed"}, format="json"
    )
    assert r.status_code == 403
    buy.refresh_from_db()
    assert buy.status == "open"
