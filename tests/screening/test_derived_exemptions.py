"""Exemptions the data already gives, beside the manual ones: an infant (by the birth date the
ID number carries) and someone already a case. Counted in coverage, not texted as missing."""

import datetime
import uuid

import pytest
import time_machine

from residents import services as register
from screening import selectors, services
from tests.factories import HouseholdFactory, ResidentFactory
from tests.residents.helpers import make_id
from tests.screening.factories import QuarantineFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(compound_a, secretary_a, volunteer, round6):
    home = HouseholdFactory(compound=compound_a)

    def born(name, day, serial):
        return register.resident_save(
            by=secretary_a,
            household=home,
            data={"name": name},
            national_id=make_id(serial, born=day),
        )

    out = {
        "baby": born("婴儿", "20250101", 1),  # not yet two
        "three": born("三岁", "20231203", 2),  # three on the round's first day: tested
        "adult": born("成人", "19800101", 3),
        "case": ResidentFactory(compound=compound_a, household=home, name="病例"),
        "sampled_baby": born("已采婴儿", "20250202", 4),
        "manual": ResidentFactory(compound=compound_a, household=home, name="外出"),
    }
    QuarantineFactory(compound=compound_a, resident=out["case"], kind="case", place="hospital")
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="GZ0001", by=volunteer
    )
    services.sample_add(
        tube_id=tube.pk, resident_id=out["sampled_baby"].pk, key=uuid.uuid4().hex, by=volunteer
    )
    services.exemption_set(
        round_id=round6.pk, resident_id=out["manual"].pk, reason="away", by=secretary_a
    )
    return out


def test_coverage_counts_infants_and_cases_as_exempt(secretary_a, compound_a, round6, people):
    total, rows = selectors.round_coverage(user=secretary_a, testing_round=round6)
    # Six due; one sampled; exempt: the baby, the case, the one away; missing: 3 yrs, adult.
    assert (total.expected, total.sampled, total.exempt, total.missing) == (6, 1, 3, 2)
    assert rows[0].exempt == 3
    total, _units, doors = selectors.compound_coverage(testing_round=round6, compound=compound_a)
    assert (total.sampled, total.exempt, total.missing) == (1, 3, 2)
    states = {p["name"]: (p["state"], p["reason"]) for d in doors for p in d.people}
    assert states["婴儿"] == ("exempt", "infant") and states["病例"] == ("exempt", "case")
    assert states["外出"] == ("exempt", "away") and states["已采婴儿"][0] == "sampled"
    assert states["三岁"] == ("missing", "") and states["成人"] == ("missing", "")


def test_the_missing_are_only_those_with_no_reason(compound_a, round6, people):
    missing = selectors.missing_residents(testing_round=round6, compound_ids=[compound_a.pk])
    assert set(missing.values_list("name", flat=True)) == {"三岁", "成人"}


def test_a_released_case_is_due_again(secretary_a, compound_a, round6, people):
    case = people["case"]
    from screening.models import Quarantine

    record = Quarantine.objects.get(resident=case)
    services.quarantine_release(quarantine_id=record.pk, by=secretary_a)
    total, _rows = selectors.round_coverage(user=secretary_a, testing_round=round6)
    assert (total.exempt, total.missing) == (2, 3)
