"""Who reads the register: secretaries keep it, sub-district and district staff read it masked,
the medic reads the ledger of their compounds (no export), and a volunteer sees residents only
through their tasks: a delivery they carry gives the door and a logged call, never the register.

Before: a volunteer read and exported the whole register of their compound, with the ledger's
health details (/residents/, /residents/ledger/, /residents/export/, /api/residents/).
"""

import pytest
from django.urls import reverse

from residents import services
from residents.models import Household, PersonalDataAccess
from tests.factories import OrderFactory, UserFactory
from tests.residents.helpers import make_id

PHONE = "19893100765"


@pytest.fixture
def home(compound_a):
    building = compound_a.buildings.get(number="1")
    return Household.objects.create(compound=compound_a, building=building, unit="1", room="101")


@pytest.fixture
def granny(secretary_a, home):
    person = services.resident_save(
        by=secretary_a,
        household=home,
        data={"name": "张桂兰", "phone": PHONE},
        national_id=make_id(4, "19400101", female=True),
    )
    services.resident_tag_set(
        by=secretary_a, resident=person, category="chronic", treatment="透析", details="尿毒症"
    )
    return person


def register_urls(person) -> list[str]:
    """The register's pages and API, for GET."""
    return [
        reverse("residents:list"),
        reverse("residents:list") + "?q=张",
        reverse("residents:detail", args=[person.pk]),
        reverse("residents:household", args=[person.household_id]),
        reverse("residents:building", args=[person.household.building_id]),
        reverse("residents:export"),
        reverse("residents:export_full"),
        reverse("residents:import"),
        reverse("residents:import_template"),
        reverse("resident-list"),
        reverse("resident-detail", args=[person.pk]),
        reverse("household-list"),
        reverse("household-detail", args=[person.household_id]),
    ]


def test_a_volunteer_does_not_read_the_register_or_the_ledger(login, volunteer, granny):
    client = login(volunteer)
    for url in [*register_urls(granny), reverse("residents:ledger")]:
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        body = b"" if response.streaming else response.content
        assert "张桂兰".encode() not in body and "尿毒症".encode() not in body, url
    for name in ("residents:reveal", "residents:call"):
        assert client.post(reverse(name, args=[granny.pk])).status_code == 404, name
    assert not PersonalDataAccess.objects.exists()


def test_a_volunteer_calls_the_household_of_a_delivery_they_carry(login, volunteer, granny):
    """The door, the name and a logged call come with the task, and go with it."""
    order = OrderFactory(household=granny.household, status="accepted")
    client = login(volunteer)
    call = reverse("residents:call", args=[granny.pk])
    assert client.post(call).status_code == 404  # nobody's task yet
    order.claimed_by, order.status = volunteer, "out_for_delivery"
    order.save()
    response = client.post(call)
    assert response.status_code == 303 and response["Location"] == f"tel:{PHONE}"
    access = PersonalDataAccess.objects.get(kind="call")
    assert access.user == volunteer and access.resident == granny
    order.status = "delivered"
    order.save()
    assert client.post(call).status_code == 404
    deliveries = client.get(reverse("supplies:deliveries"))
    assert deliveries.status_code == 200


def test_the_medic_reads_the_ledger_of_their_compounds_without_export(login, medic, granny):
    client = login(medic)
    ledger = client.get(reverse("residents:ledger"))
    assert ledger.status_code == 200
    text = ledger.content.decode()
    assert "张桂兰" in text and "透析" in text and PHONE not in text
    assert reverse("residents:call", args=[granny.pk]) in text
    assert f'href="{reverse("residents:detail", args=[granny.pk])}"' not in text  # no register
    assert reverse("residents:export") not in text
    for url in register_urls(granny):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("residents:call", args=[granny.pk]))
    assert response.status_code == 303 and response["Location"] == f"tel:{PHONE}"


@pytest.mark.parametrize("role", ["district_staff", "subdistrict_staff", "secretary_a"])
def test_staff_and_the_secretary_read_the_register_ledger_and_export(
    request, login, subdistrict, granny, role
):
    if role == "subdistrict_staff":
        user = UserFactory(username="sub", role="subdistrict_staff", posted_to=subdistrict)
    else:
        user = request.getfixturevalue(role)
    client = login(user)
    for url in (
        reverse("residents:list"),
        reverse("residents:ledger"),
        reverse("residents:detail", args=[granny.pk]),
        reverse("resident-list"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "张桂兰" in response.content.decode(), url
    export = client.get(reverse("residents:export"))
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("role", ["volunteer", "medic"])
def test_the_navigation_offers_only_what_the_role_may_open(request, login, role, granny):
    client = login(request.getfixturevalue(role))
    text = client.get(reverse("volunteers:today")).content.decode()
    assert f'href="{reverse("residents:list")}"' not in text
    ledger_link = f'href="{reverse("residents:ledger")}"' in text
    assert ledger_link is (role == "medic")
    compound = client.get(reverse("compounds:detail", args=[granny.compound_id]))
    assert compound.status_code == 200
    text = compound.content.decode()
    assert f"{reverse('residents:list')}?compound=" not in text
    assert (f"{reverse('residents:ledger')}?compound=" in text) is (role == "medic")
