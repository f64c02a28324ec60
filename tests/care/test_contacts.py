"""The ledger's "served today" from care: the same contacts whether the residents are given as a
list of ids or as a subquery (which stays in SQL), and the same residents as the unevaluated
queryset the campaign counts with."""

import datetime

from django.utils import timezone

from care.models import Outcome
from care.selectors import welfare_contacts, welfare_reached
from residents.models import Resident
from residents.registry import contacts_on, reached_ids
from tests.care.factories import WelfareCheckFactory
from tests.factories import ResidentFactory
from tests.residents.helpers import contacts_both_ways, seen


def test_welfare_contacts_from_a_list_or_a_subquery_agree(compound_a, compound_b):
    today = timezone.localdate()
    phoned = WelfareCheckFactory(compound=compound_a, outcome=Outcome.PHONE)
    visited = WelfareCheckFactory(compound=compound_a, outcome=Outcome.VISITED)
    WelfareCheckFactory(compound=compound_a, outcome=Outcome.NOT_REACHED)
    yesterday = WelfareCheckFactory(compound=compound_a, outcome=Outcome.VISITED)
    yesterday.date = today - datetime.timedelta(days=1)
    yesterday.save(update_fields=["date"])
    WelfareCheckFactory(compound=compound_b, outcome=Outcome.VISITED)  # not asked about
    ResidentFactory(compound=compound_a)
    subquery = Resident.objects.filter(compound=compound_a).values("pk")
    ids = list(subquery.values_list("pk", flat=True))

    from_list = contacts_both_ways(welfare_contacts, subquery, today)
    assert set(from_list) == {phoned.resident_id, visited.resident_id}
    assert {c.kind for found in from_list.values() for c in found} == {"welfare"}

    reached = welfare_reached(subquery, today)
    assert set(reached.values_list("resident_id", flat=True)) == set(from_list)
    # Through the register's registry: every app's contacts, a list or a subquery alike.
    assert seen(contacts_on(ids, today)) == seen(contacts_on(subquery, today))
    assert len(reached_ids(subquery, today)) >= 1
    assert contacts_on([], today) == {}
