"""Four volunteers claiming one building at the same moment, on PostgreSQL (SQLite serialises
writers, so the race is PostgreSQL's): every order is claimed once."""

import threading
import uuid

import pytest
from django.db import connection, connections

from supplies import services
from supplies.models import GroupBuyStatus, Order, OrderEvent
from tests.factories import HouseholdFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_volunteers_one_building(secretary_a, compound_a, buy):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")
    building = compound_a.buildings.order_by("number").first()
    for n in range(40):
        household = HouseholdFactory(compound=compound_a, building=building, room=f"{n + 1}01")
        services.order_submit(
            by=secretary_a,
            household=household,
            group_buy=buy,
            quantities={buy.items.first().pk: 1},
            client_key=uuid.uuid4().hex,
        )
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.CLOSED)
    services.group_buy_advance(by=secretary_a, group_buy=buy, to=GroupBuyStatus.PURCHASED)
    volunteers = [UserFactory(role="volunteer", posted_to=compound_a) for _ in range(4)]
    start = threading.Barrier(4)
    got: dict[int, list[int]] = {v.pk: [] for v in volunteers}
    errors: list[BaseException] = []

    def work(user):
        try:
            start.wait()
            while True:
                claimed = services.orders_claim(by=user, building=building, limit=3)
                if (
                    not claimed
                    and not Order.objects.filter(building=building, status="purchased").exists()
                ):
                    break
                got[user.pk].extend(o.pk for o in claimed)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(v,)) for v in volunteers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    claimed = [pk for pks in got.values() for pk in pks]
    assert len(claimed) == len(set(claimed)) == 40
    assert OrderEvent.objects.filter(status="out_for_delivery").count() == 40
    owners = dict(Order.objects.values_list("pk", "claimed_by"))
    for user_pk, pks in got.items():
        assert all(owners[pk] == user_pk for pk in pks)
