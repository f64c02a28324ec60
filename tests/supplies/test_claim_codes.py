"""Claiming a building commits fast and sends the handover codes after: the claim's transaction
writes no SMS, and the whole claim takes the same few queries for 3 orders as for 30."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import Allowance, Message, Recipient
from supplies import notify, services
from supplies.models import GroupBuyStatus, Order, OrderStatus
from tests.factories import HouseholdFactory
from wuyi.lib.errors import Refused


def _orders(secretary, buy, building, count, *, start=0, phone=None):
    for n in range(start, start + count):
        household = HouseholdFactory(compound=building.compound, building=building, room=f"{n}01")
        services.order_submit(
            by=secretary,
            household=household,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=uuid.uuid4().hex,
            phone=phone or f"1380013{n:04d}",
        )


@pytest.fixture
def buildings(secretary_a, compound_a, buy):
    """Building 1 with 3 orders, building 2 with 30, all bought."""
    one, two = compound_a.buildings.order_by("number")
    _orders(secretary_a, buy, one, 3)
    _orders(secretary_a, buy, two, 30, start=100)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    return one, two


def test_a_claim_costs_the_same_queries_for_3_orders_as_for_30(sms, volunteer, buildings):
    one, two = buildings
    with CaptureQueriesContext(connection) as small:
        assert len(services.orders_claim(by=volunteer, building=one)) == 3
    with CaptureQueriesContext(connection) as big:
        assert len(services.orders_claim(by=volunteer, building=two)) == 30
    # (The first claim of the month also makes the month's budget counter.)
    assert len(big) <= len(small) <= 25
    # Every household got its own code, each its own message (the key names the order).
    orders = list(Order.objects.filter(status=OrderStatus.OUT_FOR_DELIVERY))
    assert len(orders) == 33
    keys = set(
        Message.objects.filter(purpose=notify.PURPOSE).values_list("idempotency_key", flat=True)
    )
    assert keys == {f"supplies:handover:{o.pk}:1" for o in orders}
    assert Recipient.objects.filter(message__purpose=notify.PURPOSE).count() == 33
    assert set(Message.objects.values_list("allowance", flat=True)) == {Allowance.SYSTEM}


def test_each_code_delivers_its_own_order(sms, volunteer, buildings):
    one, _two = buildings
    claimed = services.orders_claim(by=volunteer, building=one)
    codes = {
        int(m.variables["order"]): m.variables["code"]
        for m in Message.objects.filter(purpose=notify.PURPOSE)
    }
    first, second = claimed[0], claimed[1]
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=first, how="door", code=codes[second.pk])
    done = services.order_mark_delivered(
        by=volunteer, order=first, how="door", code=codes[first.pk]
    )
    assert done.status == OrderStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_the_codes_are_queued_after_the_claim_commits(sms, volunteer, buildings, monkeypatch):
    one, _two = buildings
    seen = []
    original = notify.handover_codes

    def spy(codes):
        # Called outside any transaction, with the claim already visible to everyone.
        seen.append(
            (
                connection.in_atomic_block,
                Order.objects.filter(
                    pk__in=[o.pk for o, _c in codes], status=OrderStatus.OUT_FOR_DELIVERY
                ).count(),
                Message.objects.filter(purpose=notify.PURPOSE).count(),
            )
        )
        return original(codes)

    monkeypatch.setattr(notify, "handover_codes", spy)
    services.orders_claim(by=volunteer, building=one)
    assert seen == [(False, 3, 0)]
    assert Message.objects.filter(purpose=notify.PURPOSE).count() == 3


def test_a_claim_sends_nothing_twice_and_skips_a_bad_number(sms, volunteer, buildings):
    """Sending a claim's codes again queues nothing more (each key once); an order whose
    number takes no SMS (a landline) does not stop the others."""
    one, _two = buildings
    Order.objects.filter(building=one).order_by("pk").filter(
        pk=Order.objects.filter(building=one).order_by("pk").first().pk
    ).update(phone="0931-8123456")
    claimed = services.orders_claim(by=volunteer, building=one)
    assert Message.objects.filter(purpose=notify.PURPOSE).count() == 2
    codes = [(o, "123456") for o in claimed]
    assert notify.handover_codes(codes) == 0
    assert Message.objects.filter(purpose=notify.PURPOSE).count() == 2
