"""The screening API: rounds and coverage, tubes with their people, result sheets, cases,
contacts and health reports; scoped by visible_to, writes through the pages' services."""

import datetime
import uuid

import pytest
import time_machine
from django.urls import reverse

from screening import models, rules, services
from screening.models import HealthReport, Quarantine, Sample, Tube
from tests.factories import ResidentFactory
from tests.screening.factories import QuarantineFactory, ResultImportFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def post(client, name, data, *args):
    return client.post(reverse(name, args=args), data, content_type="application/json")


def test_staff_open_a_round_others_are_refused(login, district, district_staff, secretary_a):
    body = {
        "district": district.pk,
        "number": 6,
        "starts_on": "2026-12-03",
        "ends_on": "2026-12-04",
    }
    response = post(login(secretary_a), "testinground-list", body)
    assert response.status_code == 403 and not models.TestingRound.objects.exists()
    response = post(login(district_staff), "testinground-list", {**body, "ends_on": "2026-12-01"})
    assert response.status_code == 400 and "ends_on" in response.json()
    response = post(login(district_staff), "testinground-list", body)
    assert response.status_code == 201, response.json()
    assert response.json()["number"] == 6 and response.json()["subdistricts"] == []
    # The same round twice is the same round; a second open one is refused.
    assert post(login(district_staff), "testinground-list", body).status_code == 201
    assert models.TestingRound.objects.count() == 1
    again = post(login(district_staff), "testinground-list", {**body, "number": 7})
    assert again.status_code == 400 and "number" in again.json()


def test_round_close_and_coverage(
    login, district_staff, secretary_a, volunteer, round6, compound_a
):
    ResidentFactory.create_batch(3, compound=compound_a)
    client = login(secretary_a)
    coverage = client.get(reverse("testinground-coverage", args=[round6.pk])).json()
    assert coverage["total"]["expected"] == 3 and coverage["total"]["missing"] == 3
    assert [c["compound"] for c in coverage["compounds"]] == [compound_a.pk]
    # A volunteer reads rounds (to sample) but not coverage.
    assert login(volunteer).get(reverse("testinground-detail", args=[round6.pk])).status_code == 200
    assert (
        login(volunteer).get(reverse("testinground-coverage", args=[round6.pk])).status_code == 404
    )
    assert post(login(secretary_a), "testinground-close", {}, round6.pk).status_code == 403
    closed = post(login(district_staff), "testinground-close", {}, round6.pk)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert post(login(district_staff), "testinground-close", {}, round6.pk).status_code == 400


def test_a_tube_fills_through_the_api(login, volunteer, round6, compound_a):
    client = login(volunteer)
    body = {"round": round6.pk, "compound": compound_a.pk, "barcode": "gz0001", "kind": "pool10"}
    response = post(client, "tube-list", body)
    assert response.status_code == 201, response.json()
    tube_id = response.json()["id"]
    people = ResidentFactory.create_batch(11, compound=compound_a)
    for person in people[:10]:
        scan = {"key": uuid.uuid4().hex, "code": rules.resident_code(person.pk)}
        assert post(client, "tube-scan", scan, tube_id).status_code == 200
    tube = client.get(reverse("tube-detail", args=[tube_id])).json()
    assert tube["barcode"] == "GZ0001" and tube["size"] == 10 and tube["status"] == "closed"
    assert {p["resident"] for p in tube["people"]} == {p.pk for p in people[:10]}
    eleventh = post(
        client, "tube-scan", {"key": uuid.uuid4().hex, "resident": people[10].pk}, tube_id
    )
    assert eleventh.status_code == 400 and "code" in eleventh.json()
    assert Sample.objects.count() == 10
    listed = client.get(reverse("tube-list") + f"?round={round6.pk}&barcode=gz0001").json()
    assert [t["id"] for t in listed["results"]] == [tube_id]
    # A malformed query parameter is a 400 naming it.
    bad = client.get(reverse("tube-list") + "?barcode=%C2%84")
    assert bad.status_code == 400 and "barcode" in bad.json()


def test_a_scan_sent_twice_is_written_once(login, volunteer, round6, compound_a):
    client = login(volunteer)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="GZ0002", by=volunteer
    )
    person = ResidentFactory(compound=compound_a)
    scan = {"key": uuid.uuid4().hex, "resident": person.pk}
    assert post(client, "tube-scan", scan, tube.pk).status_code == 200
    assert post(client, "tube-scan", scan, tube.pk).status_code == 200
    assert Sample.objects.count() == 1
    # An empty body names its fields; a key too short is refused.
    assert "key" in post(client, "tube-scan", {}, tube.pk).json()
    assert post(client, "tube-scan", {"key": "x"}, tube.pk).status_code == 400


def test_tubes_are_out_of_an_outsiders_reach(login, volunteer, secretary_b, round6, compound_a):
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="GZ0003", by=volunteer
    )
    client = login(secretary_b)
    assert client.get(reverse("tube-detail", args=[tube.pk])).status_code == 404
    assert client.get(reverse("tube-list")).json()["results"] == []
    person = ResidentFactory(compound=compound_a)
    scan = {"key": uuid.uuid4().hex, "code": rules.resident_code(person.pk)}
    assert post(client, "tube-scan", scan, tube.pk).status_code == 404
    response = post(
        client, "tube-list", {"round": round6.pk, "compound": compound_a.pk, "barcode": "GZ0009"}
    )
    assert response.status_code == 400 and "compound" in response.json()
    assert Tube.objects.count() == 1 and not Sample.objects.exists()


def slot_body(testing_round, compound, **over):
    body = {
        "round": testing_round.pk,
        "compound": compound.pk,
        "place": "东门广场",
        "starts_at": "2026-12-03T14:00:00+08:00",
        "ends_at": "2026-12-03T16:00:00+08:00",
    }
    body.update(over)
    return body


def test_slots_through_the_api(login, secretary_a, volunteer, round6, compound_a):
    one, _two = compound_a.buildings.order_by("number")
    client = login(secretary_a)
    body = slot_body(round6, compound_a, buildings=[one.pk])
    created = post(client, "samplingslot-list", body)
    assert created.status_code == 201, created.json()
    slot = created.json()
    assert slot["place"] == "东门广场" and slot["buildings"] == [one.pk]
    assert slot["starts_at"] == "2026-12-03T14:00:00+08:00"
    # The same slot sent twice is written once.
    assert post(client, "samplingslot-list", body).json()["id"] == slot["id"]
    assert models.SamplingSlot.objects.count() == 1
    everyone = post(client, "samplingslot-list", slot_body(round6, compound_a, place="中心花园"))
    assert everyone.status_code == 201 and everyone.json()["buildings"] == []
    query = f"?round={round6.pk}&compound={compound_a.pk}"
    listed = client.get(reverse("samplingslot-list") + query).json()["results"]
    assert [s["place"] for s in listed] == ["东门广场", "中心花园"]
    # A volunteer of the compound reads the slots (to sample) but does not set them.
    sampler = login(volunteer)
    assert len(sampler.get(reverse("samplingslot-list")).json()["results"]) == 2
    assert sampler.get(reverse("samplingslot-detail", args=[slot["id"]])).status_code == 200
    other = slot_body(round6, compound_a, place="西门")
    assert post(sampler, "samplingslot-list", other).status_code == 403
    assert post(sampler, "samplingslot-remove", {}, slot["id"]).status_code == 403
    assert models.SamplingSlot.objects.count() == 2
    client = login(secretary_a)
    assert post(client, "samplingslot-remove", {}, slot["id"]).status_code == 204
    assert list(models.SamplingSlot.objects.values_list("place", flat=True)) == ["中心花园"]


def test_slots_are_out_of_an_outsiders_reach(
    login, secretary_a, secretary_b, round6, compound_a, compound_b
):
    slot = services.slot_add(
        round_id=round6.pk,
        compound_id=compound_a.pk,
        place="东门广场",
        starts_at=NOW,
        ends_at=NOW + datetime.timedelta(hours=2),
        by=secretary_a,
    )
    client = login(secretary_b)
    assert client.get(reverse("samplingslot-list")).json()["results"] == []
    assert client.get(reverse("samplingslot-detail", args=[slot.pk])).status_code == 404
    assert post(client, "samplingslot-remove", {}, slot.pk).status_code == 404
    response = post(client, "samplingslot-list", slot_body(round6, compound_a, place="西门"))
    assert response.status_code == 400 and "compound" in response.json()
    assert list(models.SamplingSlot.objects.all()) == [slot]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"ends_at": "2026-12-03T13:00:00+08:00"}, "ends_at"),
        ({"ends_at": "2026-12-04T09:00:00+08:00"}, "ends_at"),  # 19 hours
        (
            {"starts_at": "2026-12-09T08:00:00+08:00", "ends_at": "2026-12-09T09:00:00+08:00"},
            "starts_at",
        ),
        ({"place": "   "}, "place"),
        ({"place": "东" * 61}, "place"),
        ({"place": 501}, "place"),
        ({"place": "东门\x07"}, "place"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"buildings": ["x"]}, "buildings"),
        ({"buildings": "1"}, "buildings"),
        ({"round": 999999}, "round"),
    ],
)
def test_bad_slots_are_refused_through_the_api(login, secretary_a, round6, compound_a, over, field):
    response = post(login(secretary_a), "samplingslot-list", slot_body(round6, compound_a, **over))
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not models.SamplingSlot.objects.exists()


def test_a_slot_for_another_compounds_building_or_a_finished_round_is_refused(
    login, secretary_a, district_staff, round6, compound_a, compound_b
):
    client = login(secretary_a)
    elsewhere = slot_body(round6, compound_a, buildings=[compound_b.buildings.get().pk])
    response = post(client, "samplingslot-list", elsewhere)
    assert response.status_code == 400 and "buildings" in response.json()
    services.round_close(round_id=round6.pk, by=district_staff)
    response = post(client, "samplingslot-list", slot_body(round6, compound_a))
    assert response.status_code == 400 and "non_field_errors" in response.json()
    assert not models.SamplingSlot.objects.exists()
    bad = client.get(reverse("samplingslot-list") + "?round=x")
    assert bad.status_code == 400 and "round" in bad.json()


def test_results_list_what_each_sheet_matched(login, secretary_a, volunteer, compound_a, round6):
    ResultImportFactory(compound=compound_a, round=round6, rows=12, matched=11)
    rows = login(secretary_a).get(reverse("resultimport-list")).json()["results"]
    assert [(r["round"], r["rows"], r["matched"]) for r in rows] == [(round6.pk, 12, 11)]
    assert login(volunteer).get(reverse("resultimport-list")).status_code == 404


@pytest.fixture
def case(compound_a):
    return QuarantineFactory(compound=compound_a, kind="case", place="hospital")


def test_cases_and_contacts(login, secretary_a, secretary_b, compound_a, case):
    client = login(secretary_a)
    assert [c["id"] for c in client.get(reverse("case-list")).json()["results"]] == [case.pk]
    person = ResidentFactory(compound=compound_a)
    body = {
        "source": case.pk,
        "resident": person.pk,
        "kind": "close",
        "place": "home",
        "starts_on": "2026-12-03",
        "days": 7,
    }
    response = post(client, "contact-list", body)
    assert response.status_code == 201, response.json()
    contact = response.json()
    assert contact["ends_on"] == "2026-12-10" and contact["test_days"][0] == "2026-12-04"
    # Bad input: a secondary contact of a case, oneself, a start next week; nothing written.
    assert "kind" in post(client, "contact-list", {**body, "kind": "secondary"}).json()
    own = post(client, "contact-list", {**body, "resident": case.resident_id})
    assert own.status_code == 400 and "resident" in own.json()
    late = post(client, "contact-list", {**body, "starts_on": "2026-12-10"})
    assert late.status_code == 400 and "starts_on" in late.json()
    assert Quarantine.objects.count() == 2
    # An outsider sees none of it and cannot name the case as a source.
    outsider = login(secretary_b)
    assert outsider.get(reverse("case-list")).json()["results"] == []
    assert outsider.get(reverse("contact-detail", args=[contact["id"]])).status_code == 404
    assert post(outsider, "contact-list", body).status_code == 400
    assert post(outsider, "contact-release", {}, contact["id"]).status_code == 404
    released = post(login(secretary_a), "contact-release", {}, contact["id"])
    assert released.status_code == 200 and released.json()["released"] is True


def test_health_reports(login, volunteer, secretary_a, district_staff, compound_a, case):
    client = login(volunteer)
    body = {"quarantine": case.pk, "temperature": "36.6", "symptoms": ""}
    response = post(client, "healthreport-list", body)
    assert response.status_code == 201, response.json()
    assert post(client, "healthreport-list", {**body, "temperature": "48.0"}).status_code == 400
    assert HealthReport.objects.count() == 1
    rows = login(secretary_a).get(reverse("healthreport-list") + f"?quarantine={case.pk}").json()
    assert [r["temperature"] for r in rows["results"]] == ["36.6"]
    services.quarantine_release(quarantine_id=case.pk, by=secretary_a)
    refused = post(login(volunteer), "healthreport-list", body)
    assert refused.status_code == 400 and "解除隔离" in str(refused.json())
    # A volunteer does not read cases.
    assert login(volunteer).get(reverse("case-list")).status_code == 404
