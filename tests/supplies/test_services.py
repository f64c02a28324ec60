"""Supplies services: every rule once, every refusal writes nothing."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from messaging.models import Message
from supplies import rules, services
from supplies.models import (
    GroupBuyStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    ProxyPurchase,
)
from tests.factories import HouseholdFactory, UserFactory
from wuyi.lib.errors import Refused

pytestmark = pytest.mark.clock  # which day it is matters: make test-clock


def _items(buy):
    rice, oil = buy.items.order_by("position")
    return rice, oil


def _submit(by, household, buy, key, **quantities):
    rice, oil = _items(buy)
    return services.order_submit(
        by=by,
        household=household,
        group_buy=buy,
        quantities={rice.pk: quantities.get("rice", 0), oil.pk: quantities.get("oil", 0)},
        client_key=key,
        phone=quantities.get("phone", "13800138000"),
    )


def _nothing_written(before_orders=0):
    assert Order.objects.count() == before_orders
    assert OrderLine.objects.count() == 0 or before_orders
    assert OrderEvent.objects.count() == 0 or before_orders


def test_group_buy_takes_prices_from_catalogue_or_its_own(buy):
    rice, oil = _items(buy)
    assert (rice.price, rice.max_per_order) == (Decimal("45.00"), 5)
    assert (oil.price, oil.max_per_order) == (Decimal("68.50"), 2)
    assert buy.status == GroupBuyStatus.OPEN


def test_group_buy_refuses_past_deadline_and_other_community(
    secretary_a, community_a, compound_a, compound_b, supplier, rice
):
    with pytest.raises(Refused) as refused:
        services.group_buy_create(
            by=secretary_a,
            community=community_a,
            supplier=supplier,
            title="x",
            compounds=[compound_b],
            deadline=timezone.now() - datetime.timedelta(hours=1),
            delivery_date=timezone.localdate(),
            items=[(rice, None, None)],
        )
    assert {"compounds", "deadline"} <= set(refused.value.errors)


def test_volunteer_cannot_create_group_buy(volunteer, community_a, compound_a, supplier, rice):
    with pytest.raises(PermissionDenied):
        services.group_buy_create(
            by=volunteer,
            community=community_a,
            supplier=supplier,
            title="x",
            compounds=[compound_a],
            deadline=timezone.now() + datetime.timedelta(hours=1),
            delivery_date=timezone.localdate() + datetime.timedelta(days=1),
            items=[(rice, None, None)],
        )


def test_order_amount_lines_and_history(secretary_a, buy, households, key):
    order = _submit(secretary_a, households[0], buy, key(), rice=2, oil=1)
    assert order.amount_due == Decimal("158.50")
    assert order.building_id == households[0].building_id
    assert order.lines.count() == 2
    assert list(order.events.values_list("status", "by")) == [("submitted", secretary_a.pk)]


@pytest.mark.parametrize(
    "quantities",
    [
        {"rice": -1},
        {"rice": 100},
        {"rice": 10**9},
        {"rice": "1.5"},
        {"rice": "两袋"},
        {"rice": 1.5},
        {"rice": True},
        {"rice": 6},  # over the item's limit of 5
        {"oil": 3},  # over 2
        {},  # nothing
    ],
)
def test_bad_quantities_are_refused_and_write_nothing(
    secretary_a, buy, households, key, quantities
):
    with pytest.raises(Refused) as refused:
        _submit(secretary_a, households[0], buy, key(), **quantities)
    assert refused.value.field == "quantities"
    _nothing_written()


def test_item_of_another_group_buy_is_refused(secretary_a, buy, households, key, compound_a):
    from tests.factories import GroupBuyFactory

    other = GroupBuyFactory(compound=compound_a)
    with pytest.raises(Refused):
        services.order_submit(
            by=secretary_a,
            household=households[0],
            group_buy=buy,
            quantities={other.items.first().pk: 1},
            client_key=key(),
        )
    assert not Order.objects.filter(group_buy=buy).exists()


def test_order_after_deadline_is_refused(secretary_a, buy, households, key):
    late = buy.deadline + datetime.timedelta(minutes=1)
    with time_machine.travel(late), pytest.raises(Refused):
        _submit(secretary_a, households[0], buy, key(), rice=1)
    _nothing_written()


def test_order_in_closed_group_buy_is_refused(secretary_a, buy, households, key):
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    buy.refresh_from_db()
    with pytest.raises(Refused):
        _submit(secretary_a, households[0], buy, key(), rice=1)
    _nothing_written()


def test_household_outside_the_group_buys_compounds(secretary_a, buy, community_a, key):
    from tests.factories import CompoundFactory

    elsewhere = CompoundFactory(community=community_a, name="ALPHA另一个小区")
    household = HouseholdFactory(compound=elsewhere)
    with pytest.raises(Refused) as refused:
        _submit(secretary_a, household, buy, key(), rice=1)
    assert refused.value.field == "household"
    _nothing_written()


def test_household_out_of_reach_is_forbidden(secretary_b, buy, households, key):
    with pytest.raises(PermissionDenied):
        _submit(secretary_b, households[0], buy, key(), rice=1)
    _nothing_written()


def test_double_submit_is_idempotent(secretary_a, buy, households, key):
    k = key()
    first = _submit(secretary_a, households[0], buy, k, rice=1)
    again = _submit(secretary_a, households[0], buy, k, rice=3)
    assert again.pk == first.pk
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 1
    assert OrderEvent.objects.count() == 1


def test_same_key_for_another_household_is_refused(secretary_a, buy, households, key):
    k = key()
    _submit(secretary_a, households[0], buy, k, rice=1)
    with pytest.raises(Refused):
        _submit(secretary_a, households[1], buy, k, rice=1)
    assert Order.objects.count() == 1


def test_second_order_of_a_household_is_refused(secretary_a, buy, households, key):
    _submit(secretary_a, households[0], buy, key(), rice=1)
    with pytest.raises(Refused) as refused:
        _submit(secretary_a, households[0], buy, key(), rice=2)
    assert refused.value.field == "household"
    assert Order.objects.count() == 1


def test_group_buy_steps_cascade_and_refuse_jumps(secretary_a, buy, households, key):
    order = _submit(secretary_a, households[0], buy, key(), rice=1)
    with pytest.raises(Refused):
        services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    order.refresh_from_db()
    assert order.status == OrderStatus.PURCHASED
    assert list(order.events.values_list("status", flat=True)) == [
        "submitted",
        "accepted",
        "purchased",
    ]
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.DELIVERING)
    with pytest.raises(Refused):
        services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.DONE)


def test_order_status_refuses_jumps(secretary_a, buy, households, key):
    order = _submit(secretary_a, households[0], buy, key(), rice=1)
    with pytest.raises(Refused):
        services.order_set_status(by=secretary_a, order=order, to=OrderStatus.PURCHASED)
    with pytest.raises(Refused):
        services.order_set_status(by=secretary_a, order=order, to=OrderStatus.DELIVERED)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED and order.events.count() == 1
    services.order_set_status(by=secretary_a, order=order, to=OrderStatus.CANCELLED)
    with pytest.raises(Refused):
        services.order_set_status(by=secretary_a, order=order, to=OrderStatus.ACCEPTED)


def test_proxy_purchase_receipt_becomes_amount_due(secretary_a, households, key):
    order = services.proxy_submit(
        by=secretary_a,
        household=households[0],
        items="布洛芬 1盒\n婴儿奶粉 1罐",
        urgency="urgent",
        estimate="120",
        client_key=key(),
    )
    assert order.urgent and order.amount_due == Decimal("120.00")
    services.order_set_status(by=secretary_a, order=order, to=OrderStatus.ACCEPTED)
    with pytest.raises(Refused):
        services.order_set_status(
            by=secretary_a, order=order, to=OrderStatus.PURCHASED, receipt_amount="-3"
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.ACCEPTED
    services.order_set_status(
        by=secretary_a, order=order, to=OrderStatus.PURCHASED, receipt_amount="98.40"
    )
    order.refresh_from_db()
    assert order.amount_due == Decimal("98.40")
    assert ProxyPurchase.objects.get(order=order).receipt_amount == Decimal("98.40")


# ----------------------------------------------------------------------------- delivery


@pytest.fixture
def bought(secretary_a, buy, households, key):
    orders = [_submit(secretary_a, h, buy, key(), rice=1) for h in households]
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    return orders


def _code(order):
    message = Message.objects.filter(purpose="supplies_handover").order_by("-pk").first()
    assert message is not None
    return message.variables["code"]


def test_claim_a_building_sends_codes(sms, volunteer, bought):
    building = bought[0].building
    claimed = services.orders_claim(by=volunteer, building=building)
    assert {o.pk for o in claimed} == {o.pk for o in bought if o.building_id == building.pk}
    assert len(claimed) == 3
    assert Message.objects.filter(purpose="supplies_handover").count() == 3
    for order in claimed:
        order.refresh_from_db()
        assert order.status == OrderStatus.OUT_FOR_DELIVERY
        assert order.claimed_by == volunteer and order.code_hash


def test_two_volunteers_never_claim_one_order(sms, volunteer, compound_a, bought):
    other = UserFactory(role="volunteer", posted_to=compound_a)
    building = bought[0].building
    first = services.orders_claim(by=volunteer, building=building)
    second = services.orders_claim(by=other, building=building)
    assert first and second == []
    # Even naming the orders outright takes nothing already claimed.
    assert services.orders_claim(by=other, orders=[o.pk for o in first]) == []
    assert set(Order.objects.filter(building=building).values_list("claimed_by", flat=True)) == {
        volunteer.pk
    }


def test_the_database_refuses_out_for_delivery_unclaimed(bought):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=bought[0].pk).update(status=OrderStatus.OUT_FOR_DELIVERY)


def test_outsider_cannot_claim(sms, secretary_b, bought):
    with pytest.raises(PermissionDenied):
        services.orders_claim(by=secretary_b, building=bought[0].building)
    assert not Order.objects.filter(claimed_by__isnull=False).exists()


def test_deliver_with_the_code(sms, volunteer, bought):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    code = _code(order)
    done = services.order_mark_delivered(by=volunteer, order=order, how="door", code=code)
    assert done.status == OrderStatus.DELIVERED and done.delivered_how == "door"
    assert done.events.filter(status="delivered", by=volunteer).exists()


def test_wrong_code_limited_attempts(sms, volunteer, bought):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    code = _code(order)
    wrong = "000000" if code != "000000" else "111111"
    for _n in range(rules.MAX_CODE_ATTEMPTS):
        with pytest.raises(Refused) as refused:
            services.order_mark_delivered(by=volunteer, order=order, how="hand", code=wrong)
        assert refused.value.field == "code"
    order.refresh_from_db()
    assert order.code_attempts == rules.MAX_CODE_ATTEMPTS
    # Used up: even the right code does not help now.
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=order, how="hand", code=code)
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY
    assert not order.events.filter(status="delivered").exists()
    # A new code resets the count.
    services.order_resend_code(by=volunteer, order=order)
    services.order_mark_delivered(by=volunteer, order=order, how="hand", code=_code(order))
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def _handover_sms(order) -> int:
    return Message.objects.filter(
        purpose="supplies_handover", idempotency_key__startswith=f"supplies:handover:{order.pk}:"
    ).count()


def test_release_and_reclaim_keep_the_code_and_its_wrong_tries(sms, volunteer, bought):
    """Issue 17, item 9: giving a building back and taking it again is no way round the five
    wrong tries of a code, nor round the three codes an order gets."""
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    code = _code(order)
    wrong = "000000" if code != "000000" else "111111"
    for _n in range(rules.MAX_CODE_ATTEMPTS - 1):
        with pytest.raises(Refused):
            services.order_mark_delivered(by=volunteer, order=order, how="hand", code=wrong)
    services.order_release(by=volunteer, order=order)
    again = services.orders_claim(by=volunteer, orders=[order.pk])
    assert [o.pk for o in again] == [order.pk]
    # No new code: the household's SMS still holds, and so does the count of wrong tries.
    assert _handover_sms(order) == 1
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=order, how="hand", code=wrong)
    with pytest.raises(Refused, match=r"过多|Too many"):
        services.order_mark_delivered(by=volunteer, order=order, how="hand", code=code)
    # Nobody answering is no way round either.
    services.order_mark_failed(by=volunteer, order=order)
    services.orders_claim(by=volunteer, orders=[order.pk])
    order.refresh_from_db()
    assert order.code_attempts == rules.MAX_CODE_ATTEMPTS and _handover_sms(order) == 1
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=order, how="hand", code=code)


def test_codes_an_order_gets_are_capped_across_reclaims(sms, volunteer, bought):
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    for _n in range(rules.MAX_CODES_SENT - 1):
        services.order_resend_code(by=volunteer, order=order)
    for _n in range(3):
        services.order_release(by=volunteer, order=order)
        services.orders_claim(by=volunteer, orders=[order.pk])
    order.refresh_from_db()
    assert order.codes_sent == rules.MAX_CODES_SENT
    assert _handover_sms(order) == rules.MAX_CODES_SENT
    # The last code sent still delivers.
    done = services.order_mark_delivered(by=volunteer, order=order, how="hand", code=_code(order))
    assert done.status == OrderStatus.DELIVERED


def test_only_the_claimer_marks_delivered(sms, volunteer, compound_a, bought):
    other = UserFactory(role="volunteer", posted_to=compound_a)
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    code = _code(order)
    with pytest.raises(PermissionDenied):
        services.order_mark_delivered(by=other, order=order, how="door", code=code)
    with pytest.raises(PermissionDenied):
        services.order_mark_failed(by=other, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.OUT_FOR_DELIVERY and order.claimed_by == volunteer
    # An order nobody claimed cannot be marked delivered either.
    with pytest.raises(Refused):
        services.order_mark_delivered(by=volunteer, order=bought[1], how="door", code=code)


def test_failed_delivery_is_retried(sms, volunteer, compound_a, bought):
    other = UserFactory(role="volunteer", posted_to=compound_a)
    order = services.orders_claim(by=volunteer, orders=[bought[0].pk])[0]
    services.order_mark_failed(by=volunteer, order=order, note="无人应答")
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED and order.failures == 1 and not order.claimed_by
    again = services.orders_claim(by=other, orders=[order.pk])
    assert [o.pk for o in again] == [order.pk]
    services.order_mark_delivered(by=other, order=order, how="gate", code=_code(order))


def test_household_without_phone_is_delivered_without_code(
    sms, secretary_a, volunteer, buy, households, key
):
    order = _submit(secretary_a, households[0], buy, key(), rice=1, phone="")
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    services.orders_claim(by=volunteer, orders=[order.pk])
    done = services.order_mark_delivered(by=volunteer, order=order, how="door")
    assert done.status == OrderStatus.DELIVERED
    assert not Message.objects.filter(purpose="supplies_handover").exists()


def test_unapproved_template_does_not_stop_the_claim(settings, volunteer, bought):
    settings.WUYI_SMS_BACKEND = "locmem"
    claimed = services.orders_claim(by=volunteer, orders=[bought[0].pk])
    assert len(claimed) == 1
    assert not Message.objects.filter(purpose="supplies_handover").exists()


# ----------------------------------------------------------------------------- money


def test_payment_methods(secretary_a, volunteer, bought):
    services.order_record_payment(by=secretary_a, order=bought[0], method="wechat")
    free = services.order_record_payment(by=secretary_a, order=bought[1], method="free", paid=False)
    assert free.paid  # donated is settled
    with pytest.raises(Refused):
        services.order_record_payment(by=secretary_a, order=bought[2], method="alipay")
    with pytest.raises(PermissionDenied):
        services.order_record_payment(by=volunteer, order=bought[2], method="cash")
    bought[2].refresh_from_db()
    assert not bought[2].paid and bought[2].payment_method == ""
