"""The order and group-buy graphs (supplies.rules.ORDER, GROUP_BUY), walked through the
services: every move the graph has works, every other one is refused with the graph's message
and changes nothing."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from supplies import rules, services
from supplies.models import GroupBuy, GroupBuyStatus, Order, OrderStatus
from wuyi.lib.graphs import MoveRefused

S = OrderStatus
G = GroupBuyStatus


@pytest.fixture
def order(secretary_a, buy, households):
    rice = buy.items.order_by("position").first()
    return services.order_submit(
        by=secretary_a,
        household=households[0],
        group_buy=buy,
        quantities={rice.pk: 1},
        client_key="graph-walk",
        phone="13800138000",
    )


def _put(order: Order, status: str, claimer=None) -> Order:
    """The order in `status` (out for delivery: claimed by `claimer`, no handover code)."""
    claimed = claimer if status == S.OUT_FOR_DELIVERY else None
    Order.objects.filter(pk=order.pk).update(status=status, claimed_by=claimed, code_hash="")
    order.refresh_from_db()
    return order


def _move(order: Order, to: str, *, secretary, volunteer) -> None:
    """Ask the service that makes this move."""
    if to in rules.SET_BY_ORGANISER:
        services.order_set_status(by=secretary, order=order, to=to)
    elif to == S.OUT_FOR_DELIVERY:
        if not services.orders_claim(by=volunteer, orders=[order.pk]):
            # A claim takes what is claimable and skips the rest: the graph says why.
            rules.ORDER.check(order.status, to, by=volunteer)
    elif to == S.DELIVERED:
        services.order_mark_delivered(by=volunteer, order=order, how="door")
    elif to == S.FAILED:
        services.order_mark_failed(by=volunteer, order=order)
    elif to == S.SUBMITTED:
        # An order is submitted once (order_submit); nothing moves one back to it.
        rules.ORDER.check(order.status, to, by=secretary)
    else:  # pragma: no cover
        raise AssertionError(to)


def test_the_order_graph_is_the_one_the_tests_describe():
    assert set(rules.ORDER.moves()) == {
        (S.SUBMITTED, S.ACCEPTED), (S.SUBMITTED, S.CANCELLED),
        (S.ACCEPTED, S.PURCHASED), (S.ACCEPTED, S.CANCELLED),
        (S.PURCHASED, S.OUT_FOR_DELIVERY), (S.PURCHASED, S.CANCELLED),
        (S.OUT_FOR_DELIVERY, S.DELIVERED), (S.OUT_FOR_DELIVERY, S.FAILED),
        (S.OUT_FOR_DELIVERY, S.PURCHASED),
        (S.FAILED, S.OUT_FOR_DELIVERY), (S.FAILED, S.CANCELLED),
    }  # fmt: skip
    assert rules.ORDER.is_final(S.DELIVERED) and rules.ORDER.is_final(S.CANCELLED)


@pytest.mark.parametrize(("current", "target"), sorted(rules.ORDER.moves()))
def test_every_order_move_works_through_its_service(order, secretary_a, volunteer, current, target):
    order = _put(order, current, claimer=volunteer)
    if current == S.OUT_FOR_DELIVERY and target == S.PURCHASED:
        services.order_release(by=volunteer, order=order)
    else:
        _move(order, target, secretary=secretary_a, volunteer=volunteer)
    order.refresh_from_db()
    assert order.status == target
    assert order.events.order_by("-pk").first().status == target


@pytest.mark.parametrize(("current", "target"), sorted(rules.ORDER.refused()))
def test_every_refused_order_move_is_refused_with_its_message(
    order, secretary_a, volunteer, current, target
):
    order = _put(order, current, claimer=volunteer)
    events = order.events.count()
    with pytest.raises(MoveRefused) as refused:
        if target == S.PURCHASED:  # from anything but out for delivery: a release
            services.order_release(by=volunteer, order=order)
        else:
            _move(order, target, secretary=secretary_a, volunteer=volunteer)
    text = str(refused.value)
    assert rules.ORDER.label(current) in text and rules.ORDER.label(target) in text
    for allowed in rules.ORDER.allowed(current):
        assert rules.ORDER.label(allowed) in text
    order.refresh_from_db()
    assert order.status == current and order.events.count() == events


def test_who_moves_an_order(order, secretary_a, volunteer):
    with pytest.raises(PermissionDenied):
        services.order_set_status(by=volunteer, order=order, to=S.ACCEPTED)
    assert rules.ORDER.targets(S.SUBMITTED, by=volunteer) == []
    assert rules.ORDER.targets(S.PURCHASED, by=volunteer) == [S.OUT_FOR_DELIVERY]
    order = _put(order, S.OUT_FOR_DELIVERY, claimer=volunteer)
    with pytest.raises(PermissionDenied):  # not the claimer
        services.order_mark_failed(by=secretary_a, order=order)
    assert rules.ORDER.targets(S.OUT_FOR_DELIVERY, by=volunteer, obj=order) == [
        S.PURCHASED, S.DELIVERED, S.FAILED,
    ]  # fmt: skip


def test_the_group_buy_graph_is_one_step_at_a_time():
    assert list(rules.GROUP_BUY.moves()) == [
        (G.OPEN, G.CLOSED), (G.CLOSED, G.PURCHASED),
        (G.PURCHASED, G.DELIVERING), (G.DELIVERING, G.DONE),
    ]  # fmt: skip


@pytest.mark.parametrize(("current", "target"), sorted(rules.GROUP_BUY.moves()))
def test_every_group_buy_move_works(buy, secretary_a, current, target):
    GroupBuy.objects.filter(pk=buy.pk).update(status=current)
    buy.refresh_from_db()
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=target)
    buy.refresh_from_db()
    assert buy.status == target


@pytest.mark.parametrize(("current", "target"), sorted(rules.GROUP_BUY.refused()))
def test_every_refused_group_buy_move_is_refused_with_its_message(
    buy, secretary_a, current, target
):
    GroupBuy.objects.filter(pk=buy.pk).update(status=current)
    buy.refresh_from_db()
    with pytest.raises(MoveRefused) as refused:
        services.group_buy_advance(by=secretary_a, group_buy=buy, to=target)
    text = str(refused.value)
    assert rules.GROUP_BUY.label(current) in text and rules.GROUP_BUY.label(target) in text
    buy.refresh_from_db()
    assert buy.status == current


def test_only_the_secretary_moves_a_group_buy(buy, volunteer):
    with pytest.raises(PermissionDenied):
        services.group_buy_advance(by=volunteer, group_buy=buy, to=G.CLOSED)


def test_the_secretary_cannot_take_an_order_off_its_volunteer(order, secretary_a, volunteer):
    order = _put(order, S.OUT_FOR_DELIVERY, claimer=volunteer)
    with pytest.raises(PermissionDenied):
        services.order_set_status(by=secretary_a, order=order, to=S.PURCHASED)
    order.refresh_from_db()
    assert order.status == S.OUT_FOR_DELIVERY and order.claimed_by == volunteer


def test_an_order_out_for_delivery_offers_the_secretary_no_step(
    login, order, secretary_a, volunteer
):
    order = _put(order, S.OUT_FOR_DELIVERY, claimer=volunteer)
    page = login(secretary_a).get(reverse("supplies:order", args=[order.pk]))
    assert page.status_code == 200
    assert page.context["steps"] == []
