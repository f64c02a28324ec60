"""Supplies pages: the board, order entry, picking list, reconciliation and its export, the
volunteer's deliveries and 今日任务, the district figures; refusals and permissions."""

import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from messaging.models import Message
from supplies import selectors, services
from supplies.models import GroupBuy, GroupBuyStatus, Order, OrderStatus
from tests.factories import HouseholdFactory, ResidentFactory, VulnerableTagFactory
from volunteers import registry


def _advance(secretary, buy, *steps):
    for step in steps:
        services.group_buy_advance(by=secretary, group_buy=buy, to=step)


def _post_order(client, buy, household, key, **quantities):
    rice, oil = buy.items.order_by("position")
    return client.post(
        reverse("supplies:order_add", args=[buy.pk]),
        {
            "building": household.building_id,
            "unit": household.unit,
            "room": household.room,
            "phone": "13800138000",
            "client_key": key,
            f"q{rice.pk}": quantities.get("rice", ""),
            f"q{oil.pk}": quantities.get("oil", ""),
        },
    )


def test_board_and_detail(login, secretary_a, buy):
    client = login(secretary_a)
    page = client.get(reverse("supplies:board"))
    assert page.status_code == 200 and "12月1日粮油团购" in page.text
    detail = client.get(reverse("supplies:buy", args=[buy.pk]))
    assert detail.status_code == 200 and "ALPHA鲜丰超市" in detail.text


def test_outsider_gets_404(login, secretary_b, buy):
    client = login(secretary_b)
    assert client.get(reverse("supplies:buy", args=[buy.pk])).status_code == 404
    assert client.get(reverse("supplies:picking", args=[buy.pk])).status_code == 404


def test_open_a_group_buy_from_the_page(login, secretary_a, compound_a, supplier, rice, oil):
    client = login(secretary_a)
    assert client.get(reverse("supplies:buy_add")).status_code == 200
    deadline = timezone.localtime() + timezone.timedelta(hours=5)
    response = client.post(
        reverse("supplies:buy_add"),
        {
            "title": "蔬菜团购",
            "supplier": supplier.pk,
            "compounds": [compound_a.pk],
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
            "delivery_date": (deadline.date() + timezone.timedelta(days=1)).isoformat(),
            "items": [rice.pk, oil.pk],
        },
    )
    assert response.status_code == 302
    buy = GroupBuy.objects.get(title="蔬菜团购")
    assert buy.items.count() == 2


def test_volunteer_may_not_open_a_group_buy(login, volunteer):
    assert login(volunteer).get(reverse("supplies:buy_add")).status_code == 403


def test_volunteer_takes_an_order_by_phone(login, volunteer, buy, households):
    client = login(volunteer)
    page = client.get(reverse("supplies:deliveries"))
    assert reverse("supplies:order_add", args=[buy.pk]) in page.text
    response = _post_order(client, buy, households[1], uuid.uuid4().hex, rice=1)
    assert response.status_code == 302
    assert Order.objects.get().created_by == volunteer


def test_order_entry_page_is_idempotent(login, secretary_a, buy, households):
    client = login(secretary_a)
    key = uuid.uuid4().hex
    first = _post_order(client, buy, households[0], key, rice=2)
    assert first.status_code == 302
    assert not Order.objects.get().urgent
    again = _post_order(client, buy, households[0], key, rice=2)
    assert again.status_code == 302
    assert Order.objects.count() == 1


def test_order_entry_refusals_show_on_the_form(login, secretary_a, buy, households):
    client = login(secretary_a)
    bad = _post_order(client, buy, households[0], uuid.uuid4().hex, rice=-3)
    assert bad.status_code == 400 and "0" in bad.text
    nowhere = households[0]
    response = client.post(
        reverse("supplies:order_add", args=[buy.pk]),
        {
            "building": nowhere.building_id,
            "unit": "9",
            "room": "999",
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_picking_list_vulnerable_first_and_constant_queries(
    login, secretary_a, buy, households, compound_a
):
    keys = iter(uuid.uuid4().hex for _ in range(50))
    for h in households:
        services.order_submit(
            by=secretary_a,
            household=h,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=next(keys),
        )
    # The last household of unit 1 has an elderly resident living alone.
    old = ResidentFactory(compound=compound_a, household=households[1])
    VulnerableTagFactory(compound=compound_a, resident=old, category="elderly_alone")
    picking = selectors.picking_list(buy)
    first_unit = picking.buildings[0].units["1"]
    assert first_unit[0].address.endswith("102") and first_unit[0].vulnerable
    assert picking.totals[0][2] == 4
    with CaptureQueriesContext(connection) as few:
        selectors.picking_list(buy, user=secretary_a)
    for n in range(6):
        h = HouseholdFactory(compound=compound_a, building=households[0].building, room=f"6{n}")
        services.order_submit(
            by=secretary_a,
            household=h,
            group_buy=buy,
            quantities={buy.items.first().pk: 2},
            client_key=next(keys),
        )
    with CaptureQueriesContext(connection) as more:
        selectors.picking_list(buy, user=secretary_a)
    assert len(few) == len(more)
    page = login(secretary_a).get(reverse("supplies:picking", args=[buy.pk]))
    assert page.status_code == 200 and "★" in page.text


def test_picking_list_shows_each_reader_their_compounds_by_compound_then_building(
    login, secretary_a, volunteer, medic, community_a, compound_a, supplier, rice, households
):
    """Issue 17, item 5: a group buy serving two compounds of a community. Each compound's
    volunteer and medic read their compound's bags only (no address, no ★ of the other), and
    the two compounds' 1号楼 are two pages, each naming its compound."""
    from compounds.models import Building
    from tests.factories import BuildingFactory, CompoundFactory

    other = CompoundFactory(community=community_a, name="云祥小区")
    BuildingFactory(compound=other, number="10")
    one = BuildingFactory(compound=other, number="1")
    buy = services.group_buy_create(
        by=secretary_a,
        community=community_a,
        supplier=supplier,
        title="两个小区的团购",
        compounds=[compound_a, other],
        deadline=timezone.now() + timezone.timedelta(hours=20),
        delivery_date=timezone.localdate() + timezone.timedelta(days=2),
        items=[(rice, None, 5)],
    )
    theirs = HouseholdFactory(compound=other, building=one, unit="1", room="909")
    VulnerableTagFactory(
        compound=other,
        resident=ResidentFactory(compound=other, household=theirs),
        category="elderly_alone",
    )
    ten = HouseholdFactory(
        compound=other, building=Building.objects.get(compound=other, number="10"), room="808"
    )
    for household in (households[0], households[3], theirs, ten):
        services.order_submit(
            by=secretary_a,
            household=household,
            group_buy=buy,
            quantities={buy.items.get().pk: 1},
            client_key=uuid.uuid4().hex,
        )

    for reader in (volunteer, medic):
        page = login(reader).get(reverse("supplies:picking", args=[buy.pk]))
        assert page.status_code == 200
        assert "909" not in page.text and "808" not in page.text
        assert "★" not in page.text and "云祥小区" not in page.text
        picking = selectors.picking_list(buy, user=reader)
        assert {b.compound for b in picking.buildings} == {compound_a.name}
        assert picking.orders == 2 and picking.totals[0][2] == 2

    everything = selectors.picking_list(buy, user=secretary_a)
    # By compound (in name order), then building in natural order: 1 before 10.
    assert [(b.compound, b.number) for b in everything.buildings] == sorted(
        [(compound_a.name, "1"), (compound_a.name, "2"), ("云祥小区", "1"), ("云祥小区", "10")]
    )
    page = login(secretary_a).get(reverse("supplies:picking", args=[buy.pk])).text
    sheets = page.split('<section class="picking-sheet')[2:]
    assert len(sheets) == 4
    for sheet, building in zip(sheets, everything.buildings, strict=True):
        assert building.compound in sheet
    (ours,) = [s for s in sheets if "909" in s]
    assert "云祥小区" in ours and "★" in ours and compound_a.name not in ours


def test_reconciliation_and_export(login, secretary_a, buy, households):
    orders = [
        services.order_submit(
            by=secretary_a,
            household=h,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=uuid.uuid4().hex,
        )
        for h in households[:3]
    ]
    services.order_record_payment(by=secretary_a, order=orders[0], method="wechat")
    services.order_record_payment(by=secretary_a, order=orders[1], method="free")
    money = selectors.reconciliation(Order.objects.filter(group_buy=buy))
    assert (money.due, money.paid, money.donated, money.outstanding) == (135, 45, 45, 45)
    client = login(secretary_a)
    assert client.get(reverse("supplies:reconciliation", args=[buy.pk])).status_code == 200
    response = client.get(reverse("supplies:reconciliation_xlsx", args=[buy.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + 3 + 1 + 4
    assert values[-1][2] == 45


def test_reconciliation_formula_is_escaped(login, secretary_a, buy, households):
    services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
    )
    rows = list(selectors.reconciliation_rows(Order.objects.all()))
    assert rows[0][1].startswith("1号楼")


def test_order_list_filters(login, secretary_a, buy, households, compound_a):
    services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
    )
    client = login(secretary_a)
    url = reverse("supplies:orders")
    assert "#" in client.get(url).text
    assert list(client.get(url, {"status": "delivered"}).context["page"].object_list) == []
    assert len(client.get(url, {"vulnerable": "1"}).context["page"].object_list) == 0
    assert client.get(url, {"status": "nonsense"}).status_code == 400
    assert client.get(url, {"building": "x"}).status_code == 400


@pytest.mark.clock
def test_volunteer_delivers_from_the_phone(sms, login, secretary_a, volunteer, buy, households):
    for h in households:
        services.order_submit(
            by=secretary_a,
            household=h,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=uuid.uuid4().hex,
            phone="13800138000",
        )
    _advance(secretary_a, buy, GroupBuyStatus.CLOSED, GroupBuyStatus.PURCHASED)
    tasks = registry.tasks_for(volunteer, timezone.localdate())
    assert [t.kind for t in tasks].count("配送") + [t.kind for t in tasks].count("Delivery") == 2
    client = login(volunteer)
    page = client.get(reverse("supplies:deliveries"))
    assert page.status_code == 200
    # The household's number is never on the pages.
    assert "13800138000" not in page.text
    assert "13800138000" not in login(secretary_a).get(reverse("supplies:orders")).text
    client = login(volunteer)
    building = households[0].building
    client.post(reverse("supplies:claim", args=[building.pk]))
    mine = list(Order.objects.filter(claimed_by=volunteer))
    assert len(mine) == 3
    order = mine[0]
    code = Message.objects.filter(purpose="supplies_handover").order_by("pk")[0].variables["code"]
    target = Order.objects.get(pk=Message.objects.order_by("pk")[0].idempotency_key.split(":")[2])
    wrong = client.post(
        reverse("supplies:deliver", args=[target.pk]),
        {"how": "door", "code": "x", "action": "delivered"},
    )
    assert wrong.status_code == 302
    target.refresh_from_db()
    assert target.status == OrderStatus.OUT_FOR_DELIVERY and target.code_attempts == 1
    client.post(
        reverse("supplies:deliver", args=[target.pk]),
        {"how": "door", "code": code, "action": "delivered"},
    )
    target.refresh_from_db()
    assert target.status == OrderStatus.DELIVERED
    assert order.pk in {o.pk for o in mine}


def test_volunteer_cannot_deliver_what_they_did_not_claim(
    sms, login, secretary_a, volunteer, compound_a, buy, households
):
    from tests.factories import UserFactory

    order = services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
    )
    _advance(secretary_a, buy, GroupBuyStatus.CLOSED, GroupBuyStatus.PURCHASED)
    other = UserFactory(role="volunteer", posted_to=compound_a)
    services.orders_claim(by=other, orders=[order.pk])
    response = login(volunteer).post(
        reverse("supplies:deliver", args=[order.pk]), {"how": "door", "action": "delivered"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY and order.claimed_by == other


def test_volunteer_may_not_advance_or_take_payments(login, volunteer, buy, households):
    client = login(volunteer)
    r = client.post(reverse("supplies:buy_advance", args=[buy.pk]), {"to": "closed"})
    assert r.status_code == 403
    buy.refresh_from_db()
    assert buy.status == GroupBuyStatus.OPEN


def test_district_figures(login, district_staff, secretary_a, volunteer, buy, households, sms):
    order = services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
        phone="13800138000",
    )
    _advance(secretary_a, buy, GroupBuyStatus.CLOSED, GroupBuyStatus.PURCHASED)
    services.orders_claim(by=volunteer, orders=[order.pk])
    code = Message.objects.get(purpose="supplies_handover").variables["code"]
    services.order_mark_delivered(by=volunteer, order=order, how="hand", code=code)
    figures = selectors.district_figures(user=district_staff)
    assert figures.median_minutes is not None
    assert figures.per_day[-1][1:] == (1, 1)
    page = login(district_staff).get(reverse("supplies:figures"))
    assert page.status_code == 200
    assert login(volunteer).get(reverse("supplies:figures")).status_code == 403


@pytest.mark.parametrize("name", ["supplies:suppliers", "supplies:proxy_add", "supplies:orders"])
def test_secretary_pages_render(login, secretary_a, supplier, name):
    assert login(secretary_a).get(reverse(name)).status_code == 200


def test_proxy_purchase_page(login, secretary_a, households):
    h = households[0]
    response = login(secretary_a).post(
        reverse("supplies:proxy_add"),
        {
            "building": h.building_id,
            "unit": h.unit,
            "room": h.room,
            "items": "布洛芬1盒",
            "urgency": "urgent",
            "estimate": "30",
            "client_key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.kind == "proxy" and order.urgent
    assert login(secretary_a).get(reverse("supplies:order", args=[order.pk])).status_code == 200


def test_compound_page_shows_supplies(login, secretary_a, buy, households, compound_a):
    services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
    )
    page = login(secretary_a).get(reverse("compounds:detail", args=[compound_a.pk]))
    assert page.status_code == 200
    assert "1个订单未完成" in page.text


def test_urgent_order_from_the_page(login, secretary_a, buy, households):
    rice = buy.items.order_by("position").first()
    h = households[0]
    login(secretary_a).post(
        reverse("supplies:order_add", args=[buy.pk]),
        {
            "building": h.building_id,
            "unit": h.unit,
            "room": h.room,
            "urgent": "on",
            "client_key": uuid.uuid4().hex,
            f"q{rice.pk}": "1",
        },
    )
    assert Order.objects.get().urgent


def test_district_staff_read_the_reconciliation_without_pay_buttons(
    login, district_staff, secretary_a, buy, households
):
    services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={buy.items.first().pk: 1},
        client_key=uuid.uuid4().hex,
    )
    page = login(district_staff).get(reverse("supplies:reconciliation", args=[buy.pk]))
    assert page.status_code == 200
    assert "order_pay" not in page.text and "/pay/" not in page.text


def test_the_proxy_purchase_form_is_offered_only_to_who_may_enter_orders(
    login, secretary_a, district_staff
):
    form = reverse("supplies:proxy_add")
    for user, offered in ((secretary_a, True), (district_staff, False)):
        client = login(user)
        assert (f'href="{form}"' in client.get(reverse("supplies:orders")).content.decode()) is (
            offered
        )
        assert (client.get(form).status_code == 200) is offered
