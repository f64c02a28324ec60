"""The ledger's "served today" from supplies: every resident of a household whose order was
handed over today, the same whether they are asked about as a list of ids or as a subquery
(which stays in SQL)."""

import datetime

from django.utils import timezone

from residents.models import Resident
from supplies.models import OrderStatus
from supplies.plugins import delivery_contacts, delivery_reached
from tests.factories import HouseholdFactory, OrderFactory, ResidentFactory
from tests.residents.helpers import contacts_both_ways, seen


def test_delivery_contacts_from_a_list_or_a_subquery_agree(compound_a, compound_b):
    now = timezone.now()
    today = timezone.localdate(now)
    home = HouseholdFactory(compound=compound_a)
    couple = [ResidentFactory(compound=compound_a, household=home) for _ in range(2)]
    OrderFactory(household=home, status=OrderStatus.DELIVERED, delivered_at=now)
    waiting = HouseholdFactory(compound=compound_a)
    ResidentFactory(compound=compound_a, household=waiting)
    OrderFactory(household=waiting)  # submitted, not handed over
    earlier = HouseholdFactory(compound=compound_a)
    ResidentFactory(compound=compound_a, household=earlier)
    OrderFactory(
        household=earlier,
        status=OrderStatus.DELIVERED,
        delivered_at=now - datetime.timedelta(days=1),
    )
    elsewhere = HouseholdFactory(compound=compound_b)
    ResidentFactory(compound=compound_b, household=elsewhere)
    OrderFactory(household=elsewhere, status=OrderStatus.DELIVERED, delivered_at=now)
    subquery = Resident.objects.filter(compound=compound_a).values("pk")
    from_list = contacts_both_ways(delivery_contacts, subquery, today)
    assert seen(from_list) == {r.pk: [("delivery", now)] for r in couple}
    reached = delivery_reached(subquery, today)
    assert set(reached.values_list("household__residents__id", flat=True)) == {r.pk for r in couple}
