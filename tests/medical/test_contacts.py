"""The ledger's "served today" from medical: residents whose escort set off today, the same
whether they are asked about as a list of ids or as a subquery (which stays in SQL)."""

import datetime

from django.utils import timezone

from medical.models import EscortStatus
from medical.plugins import escort_contacts, escort_reached
from residents.models import Resident
from tests.factories import EscortFactory, ResidentFactory
from tests.residents.helpers import contacts_both_ways, seen


def test_escort_contacts_from_a_list_or_a_subquery_agree(compound_a, compound_b):
    now = timezone.now()
    today = timezone.localdate(now)
    gone = EscortFactory(compound=compound_a, status=EscortStatus.DISPATCHED, dispatched_at=now)
    EscortFactory(compound=compound_a, status=EscortStatus.CANCELLED, dispatched_at=now)
    EscortFactory(compound=compound_a)  # requested for tomorrow: not set off
    EscortFactory(
        compound=compound_a,
        status=EscortStatus.RETURNED,
        dispatched_at=now - datetime.timedelta(days=1),
    )
    EscortFactory(compound=compound_b, status=EscortStatus.DISPATCHED, dispatched_at=now)
    ResidentFactory(compound=compound_a)
    subquery = Resident.objects.filter(compound=compound_a).values("pk")
    from_list = contacts_both_ways(escort_contacts, subquery, today)
    assert seen(from_list) == {gone.resident_id: [("escort", now)]}
    reached = escort_reached(subquery, today)
    assert set(reached.values_list("resident_id", flat=True)) == {gone.resident_id}
