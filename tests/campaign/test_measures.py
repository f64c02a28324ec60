"""The measured items that read screening and the ledger: the last K testing rounds each covered
at or above the district's threshold, and every vulnerable resident contacted today. Each shows
its figure and links to the list behind it."""

import datetime

import pytest
from django.utils import timezone

from campaign import selectors, services
from campaign.models import ItemKind
from care.models import Outcome
from compounds.models import Compound, ControlStatus
from screening.models import RoundStatus
from tests.care.factories import WelfareCheckFactory
from tests.factories import (
    CompoundFactory,
    ResidentFactory,
    SubdistrictFactory,
    VulnerableTagFactory,
)
from tests.screening import factories as screening
from wuyi.lib.errors import Refused


def _item(checklist, kind, by):
    return services.item_add(
        group=checklist["plain"].group, text=str(kind), kind=kind, needs_evidence=False, by=by
    )


def _result(compound, kind):
    ev = selectors.evaluate_one(compound)
    return next(r for r in ev.items if r.item.kind == kind)


def _round(compound, *, days_ago: int, status=RoundStatus.CLOSED, subdistricts=()):
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    found = screening.TestingRoundFactory(
        compound=compound, starts_on=day, ends_on=day, status=status
    )
    found.subdistricts.set(subdistricts)
    return found


def _sample(compound, testing_round, residents):
    tube = screening.TubeFactory(compound=compound, round=testing_round)
    for resident in residents:
        screening.SampleFactory(compound=compound, tube=tube, resident=resident)


@pytest.fixture
def rounds_item(checklist, district_staff):
    services.checklist_set_days(
        checklist=checklist["checklist"],
        no_case_days=14,
        rounds=2,
        coverage=90,
        by=district_staff,
    )
    return _item(checklist, ItemKind.ROUNDS, district_staff)


def test_rounds_not_held_hold_a_compound_back(compound_a, rounds_item):
    result = _result(compound_a, ItemKind.ROUNDS)
    assert not result.met
    assert result.why == "最近2轮仅开展0轮"
    assert result.url == "/screening/"


def test_the_last_rounds_each_covered_at_the_threshold(compound_a, rounds_item):
    residents = [ResidentFactory(compound=compound_a) for _ in range(10)]
    first = _round(compound_a, days_ago=4)
    _sample(compound_a, first, residents)
    second = _round(compound_a, days_ago=2, status=RoundStatus.OPEN)  # ended: it counts
    _sample(compound_a, second, residents[:9])
    screening.ExemptionFactory(compound=compound_a, round=second, resident=residents[9])
    _round(compound_a, days_ago=0, status=RoundStatus.OPEN)  # still running: not yet
    result = _result(compound_a, ItemKind.ROUNDS)
    assert result.met, result.why
    assert result.why == "最近2轮：100%、100%（须不低于90%）"

    third = _round(compound_a, days_ago=1)
    _sample(compound_a, third, residents[:8])
    result = _result(compound_a, ItemKind.ROUNDS)
    assert not result.met
    assert result.why == "最近2轮：80%、100%（须不低于90%）"
    # The list behind it: the worst round's door list of this compound.
    assert result.url == f"/screening/rounds/{third.pk}/compounds/{compound_a.pk}/"


def test_a_round_of_other_subdistricts_does_not_count(compound_a, rounds_item, district):
    residents = [ResidentFactory(compound=compound_a) for _ in range(2)]
    for days_ago in (3, 2):
        _sample(compound_a, _round(compound_a, days_ago=days_ago), residents)
    elsewhere = SubdistrictFactory(district=district)
    _round(compound_a, days_ago=1, subdistricts=[elsewhere])  # nobody sampled: not ours
    assert _result(compound_a, ItemKind.ROUNDS).met


def test_rounds_and_coverage_settings_are_bounded(district_staff, checklist):
    for rounds, coverage, field in ((0, 95, "rounds"), (11, 95, "rounds"), (3, 49, "coverage")):
        with pytest.raises(Refused) as refused:
            services.checklist_set_days(
                checklist=checklist["checklist"],
                no_case_days=14,
                rounds=rounds,
                coverage=coverage,
                by=district_staff,
            )
        assert field in refused.value.errors
    for bad in ("x", None, True):
        with pytest.raises(Refused):
            services.checklist_set_days(
                checklist=checklist["checklist"], no_case_days=bad, by=district_staff
            )
    checklist["checklist"].refresh_from_db()
    assert (checklist["checklist"].rounds, checklist["checklist"].coverage) == (3, 95)


def test_every_vulnerable_resident_contacted_today(compound_a, checklist, district_staff):
    _item(checklist, ItemKind.VULNERABLE, district_staff)
    reached = WelfareCheckFactory(compound=compound_a, outcome=Outcome.PHONE)
    waiting = WelfareCheckFactory(compound=compound_a, outcome=Outcome.NOT_REACHED)
    # Out of lockdown it is not asked (as disinfection rounds and medical cover are not).
    result = _result(compound_a, ItemKind.VULNERABLE)
    assert result.met and result.why == "该状态下不作要求"
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    result = _result(compound_a, ItemKind.VULNERABLE)
    assert not result.met
    assert result.why == "台账2人中今日已联系1人"
    assert result.url == f"/care/compounds/{compound_a.pk}/served/"
    # Someone who moved out is not waited for; a resident reached yesterday is not reached today.
    waiting.resident.left_on = timezone.localdate()
    waiting.resident.save(update_fields=["left_on"])
    assert _result(compound_a, ItemKind.VULNERABLE).met
    yesterday = WelfareCheckFactory(compound=compound_a, outcome=Outcome.VISITED)
    yesterday.date = timezone.localdate() - datetime.timedelta(days=1)
    yesterday.save(update_fields=["date"])
    assert _result(compound_a, ItemKind.VULNERABLE).why == ("台账2人中今日已联系1人")
    assert reached.resident_id
    # Sealed with nobody on the ledger: met.
    empty = CompoundFactory(community=compound_a.community, status=ControlStatus.SEALED)
    assert _result(empty, ItemKind.VULNERABLE).why == "特殊群体台账无人员"


def test_a_ledger_resident_reached_by_any_app_counts_once(compound_a, checklist, district_staff):
    """Welfare checks, deliveries and escorts each reach someone (one resident twice): the
    count is made in SQL over every app's reached residents, and agrees with the ledger's
    served today read per resident."""
    from care.selectors import served_today
    from medical.models import EscortStatus
    from supplies.models import OrderStatus
    from tests.factories import EscortFactory, OrderFactory

    _item(checklist, ItemKind.VULNERABLE, district_staff)
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    now = timezone.now()
    phoned = WelfareCheckFactory(compound=compound_a, outcome=Outcome.PHONE)
    fed = VulnerableTagFactory(compound=compound_a).resident
    OrderFactory(household=fed.household, status=OrderStatus.DELIVERED, delivered_at=now)
    escorted = VulnerableTagFactory(compound=compound_a).resident
    EscortFactory(resident=escorted, status=EscortStatus.DISPATCHED, dispatched_at=now)
    EscortFactory(resident=phoned.resident, status=EscortStatus.DISPATCHED, dispatched_at=now)
    VulnerableTagFactory(compound=compound_a)  # nobody came
    result = _result(compound_a, ItemKind.VULNERABLE)
    assert not result.met
    assert result.why == "台账4人中今日已联系3人"
    lines = served_today(user=district_staff, day=timezone.localdate(now), compound=compound_a)
    assert sum(line.served for line in lines) == 3


def test_the_new_measures_cost_the_same_for_3_and_30_compounds(
    community_a, district_staff, checklist, rounds_item
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _item(checklist, ItemKind.VULNERABLE, district_staff)
    compounds = [
        CompoundFactory(community=community_a, status=ControlStatus.SEALED) for _ in range(3)
    ]

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            selectors.evaluate(compounds)
        return len(ctx.captured_queries)

    for c in compounds:
        VulnerableTagFactory(compound=c)
        _sample(c, _round(c, days_ago=2 + c.pk % 2), [ResidentFactory(compound=c)])
    few = queries()
    for _ in range(27):
        c = CompoundFactory(community=community_a, status=ControlStatus.SEALED)
        VulnerableTagFactory(compound=c)
        WelfareCheckFactory(compound=c, outcome=Outcome.VISITED)
        compounds.append(c)
    assert queries() == few


def test_the_checklist_page_sets_rounds_and_coverage(login, district_staff, secretary_a, checklist):
    client = login(district_staff)
    form = {"action": "days", "no_case_days": "10", "rounds": "4", "coverage": "98"}
    assert client.post("/campaign/checklist/", {**form, "coverage": "101"}).status_code == 400
    assert client.post("/campaign/checklist/", {**form, "rounds": "x"}).status_code == 400
    assert login(secretary_a).post("/campaign/checklist/", form).status_code == 403
    checklist["checklist"].refresh_from_db()
    assert (checklist["checklist"].rounds, checklist["checklist"].coverage) == (3, 95)
    client = login(district_staff)
    assert client.post("/campaign/checklist/", form).status_code == 302
    checklist["checklist"].refresh_from_db()
    assert (checklist["checklist"].no_case_days, checklist["checklist"].rounds) == (10, 4)
    assert checklist["checklist"].coverage == 98
    body = client.get("/api/campaign/checklists/").json()["results"][0]
    assert (body["rounds"], body["coverage"]) == (4, 98)
    page = login(secretary_a).get("/campaign/checklist/").content.decode()
    assert "最近4轮核酸检测覆盖率均不低于98%" in page
