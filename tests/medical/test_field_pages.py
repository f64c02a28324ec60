"""What medics, crews and secretaries hit on the medical pages (issue 19): the patient picked
with a search, a logged call button for the crew, the room in the pickup, a cancel that is
not the primary button, hospitals filtered by the service, a volunteer's own escort jobs,
a recurring pickup booked without an ambulance flagged, names family name first."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from medical import services
from medical.models import Escort
from residents.models import PersonalDataAccess
from tests.factories import HospitalFactory, ResidentFactory, UserFactory
from tests.medical.helpers import TOMORROW_0730, _book


@pytest.fixture
def many(sealed):
    """A compound of 40 residents: the form must not list them all."""
    return [ResidentFactory(compound=sealed, name=f"居民{n:02d}") for n in range(40)]


def test_the_emergency_form_searches_instead_of_listing_the_compound(
    clock, login, medic, zhang, many, sealed
):
    client = login(medic)
    page = client.get(reverse("medical:emergency") + f"?compound={sealed.pk}").content.decode()
    assert "居民07" not in page and "张建国" not in page
    assert reverse("residents:pick") in page
    found = client.get(
        reverse("residents:pick"),
        {"compound": sealed.pk, "field": "resident", "resident__q": "张"},
    ).content.decode()
    assert "张建国" in found and "居民07" not in found
    assert 'type="radio" name="resident"' in found
    # By the door: building, unit and room.
    room = zhang.household.room
    assert (
        "张建国"
        in client.get(
            reverse("residents:pick"),
            {"compound": sealed.pk, "field": "resident", "resident__q": f"1-1-{room}"},
        ).content.decode()
    )
    # The chosen one stays when the form comes back with an error.
    again = client.post(
        reverse("medical:emergency") + f"?compound={sealed.pk}", {"resident": zhang.pk}
    )
    assert again.status_code == 400
    assert re.search(rf'value="{zhang.pk}"[^>]*checked', again.content.decode())


def test_the_picker_is_for_those_who_fill_the_forms(login, volunteer, secretary_b, sealed, zhang):
    url = reverse("residents:pick")
    query = {"compound": sealed.pk, "resident__q": "张"}
    assert login(volunteer).get(url, query).status_code == 404
    assert login(secretary_b).get(url, query).status_code == 404


def test_the_crew_calls_the_patient_and_the_call_is_logged(
    clock, login, secretary_a, crew, zhang, hospital, cars, doctor
):
    noon = TOMORROW_0730.replace(day=1, hour=12, minute=0)  # today, 12:00
    escort = _book(secretary_a, zhang, hospital, at=noon, ambulance=cars[0], staff=doctor)
    client = login(crew)
    page = client.get(reverse("medical:escort", args=[escort.pk])).content.decode()
    call = reverse("medical:call", args=[escort.pk])
    assert call in page and "13893100011" not in page
    assert f"1号楼1单元{zhang.household.room}" in page  # the room, for the crew going up
    response = client.post(call)
    assert response.status_code == 303 and response["Location"] == "tel:13893100011"
    logged = PersonalDataAccess.objects.get(kind="call")
    assert logged.user == crew and logged.resident == zhang
    assert logged.detail["via"] == f"medical.escort:{escort.pk}"
    # 今日任务 offers the same call on the crew's job.
    tasks = client.get(reverse("volunteers:today")).content.decode()
    assert call in tasks


def test_a_volunteer_sees_only_the_escorts_they_are_on(
    clock, login, secretary_a, crew, compound_a, zhang, hospital, cars
):
    mine = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    theirs = _book(
        secretary_a,
        zhang,
        hospital,
        at=TOMORROW_0730 + datetime.timedelta(days=1),
        ambulance=cars[1],
    )
    client = login(crew)
    listing = client.get(reverse("medical:escorts"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert reverse("medical:escort", args=[mine.pk]) in body
    assert reverse("medical:escort", args=[theirs.pk]) not in body
    assert client.get(reverse("medical:escort", args=[mine.pk])).status_code == 200
    assert client.get(reverse("medical:escort", args=[theirs.pk])).status_code == 403
    other = UserFactory(role=Role.VOLUNTEER, posted_to=compound_a)
    assert login(other).get(reverse("medical:escort", args=[mine.pk])).status_code == 403


def test_cancel_is_apart_from_the_steps_and_asks_why(
    clock, login, secretary_a, zhang, hospital, cars
):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    page = login(secretary_a).get(reverse("medical:escort", args=[escort.pk])).content.decode()
    steps = re.search(r'<form[^>]*id="steps".*?</form>', page, re.S)[0]
    assert 'value="cancelled"' not in steps
    assert 'class="tap primary" name="to" value="dispatched"' in steps
    assert 'name="outcome"' not in steps  # no empty 结果 beside 出车
    cancel = re.search(r'<details[^>]*id="cancel".*?</details>', page, re.S)[0]
    assert 'value="cancelled"' in cancel and "required" in cancel and "primary" not in cancel


def test_the_booking_form_offers_only_hospitals_with_the_service(
    clock, login, secretary_a, sealed, district
):
    dialysis = HospitalFactory(name="透析中心", districts=[district], services=["dialysis"])
    maternity = HospitalFactory(name="妇幼保健院", districts=[district], services=["maternity"])
    client = login(secretary_a)
    url = reverse("medical:book") + f"?compound={sealed.pk}"
    page = client.get(url).content.decode()  # dialysis first
    assert dialysis.name in page and maternity.name not in page
    partial = client.get(url + "&kind=prenatal", HTTP_HX_REQUEST="true").content.decode()
    assert maternity.name in partial and dialysis.name not in partial
    assert "<html" not in partial


def test_a_recurring_pickup_without_an_ambulance_is_flagged(
    clock, login, secretary_a, zhang, hospital, sealed
):
    response = login(secretary_a).post(
        reverse("medical:schedule_add") + f"?compound={sealed.pk}",
        {
            "resident": zhang.pk,
            "kind": "dialysis",
            "weekdays": ["2"],  # Wednesday: tomorrow
            "time": "07:30",
            "duration_minutes": 240,
            "hospital": hospital.pk,
            "start_date": "2026-12-01",
        },
        follow=True,
    )
    assert "没有指定救护车" in response.content.decode()
    call_command("book_escorts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Escort.objects.filter(ambulance__isnull=True, status="requested").exists()
    client = login(secretary_a)
    compound = client.get(reverse("compounds:detail", args=[sealed.pk])).content.decode()
    flag = re.search(r'id="escorts-without-ambulance".*?</p>', compound, re.S)[0]
    assert 'class="badge bad"' in flag and "1次接送未派车" in flag and "12-02 07:30" in flag
    assert "未指定救护车" in client.get(reverse("medical:schedules")).content.decode()
    assert "未派车" in client.get(reverse("medical:escorts")).content.decode()


def test_steps_name_people_family_name_first(clock, secretary_a, zhang, hospital, cars, login):
    secretary_a.last_name, secretary_a.first_name = "张", "丽华"
    secretary_a.save()
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    assert escort.steps[0]["by_name"] == "张丽华"
    # A step recorded the old way ("丽华 张") reads from the account now.
    Escort.objects.filter(pk=escort.pk).update(
        steps=[{**s, "by_name": "丽华 张"} for s in escort.steps]
    )
    page = login(secretary_a).get(reverse("medical:escort", args=[escort.pk])).content.decode()
    assert "张丽华" in page and "丽华 张" not in page


def test_the_statistics_file_is_named_in_chinese(clock, login, secretary_a):
    response = login(secretary_a).get(reverse("medical:statistics") + "?format=xlsx")
    header = response["Content-Disposition"]
    assert 'filename="escorts-20261125-20261201.xlsx"' in header
    assert "filename*=UTF-8''%E8%BD%AC%E8%BF%90%E7%BB%9F%E8%AE%A1-20261125-20261201.xlsx" in header


def test_pickup_waits_at_the_door(clock, secretary_a, zhang, hospital):
    assert services.pickup_of(zhang) == f"1号楼1单元{zhang.household.room}"
