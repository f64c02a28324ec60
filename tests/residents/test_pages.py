"""The pages as committees use them: the compound page in figures, building pages, search as
secretaries type, one-tap calls for those serving at the door."""

import pytest
from django.urls import reverse

from residents import services
from residents.models import Household, PersonalDataAccess
from tests.residents.helpers import make_id
from tests.screening.factories import QuarantineFactory

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
    services.resident_tag_set(by=secretary_a, resident=person, category="elderly_alone")
    # In home isolation: screening's record, counted on the compound page through its registry.
    QuarantineFactory(compound=home.compound, resident=person, kind="isolation")
    return person


def test_compound_page_counts_and_leads_to_its_register(login, secretary_a, compound_a, granny):
    services.resident_save(by=secretary_a, household=granny.household, data={"name": "李明"})
    body = login(secretary_a).get(reverse("compounds:detail", args=[compound_a.pk])).content
    text = body.decode()
    assert "1</strong> 住户" in text and "2</strong> 居民" in text
    assert "1</strong> 人隔离" in text
    assert "独居老人" in text
    assert f"/residents/?compound={compound_a.pk}" in text
    assert f"/residents/ledger/?compound={compound_a.pk}" in text
    building = compound_a.buildings.get(number="1")
    assert reverse("residents:building", args=[building.pk]) in text


def test_building_page_lists_households_by_unit_and_floor(login, secretary_a, compound_a, granny):
    building = granny.household.building
    Household.objects.create(compound=compound_a, building=building, unit="1", room="1201")
    Household.objects.create(compound=compound_a, building=building, unit="2", room="301")
    text = login(secretary_a).get(reverse("residents:building", args=[building.pk])).content
    text = text.decode()
    assert text.index("1单元") < text.index("2单元")
    assert text.index("12层") < text.index("1层")  # top floor first, as a building is drawn
    assert "张桂兰" in text and "独居老人" in text and PHONE not in text


def test_building_of_another_community_is_404(login, secretary_b, compound_a):
    building = compound_a.buildings.first()
    response = login(secretary_b).get(reverse("residents:building", args=[building.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query", ["0765", "ALPHA天庆丽舍1号楼1单元101", "ALPHA天庆丽舍1-1-101", "1号楼1单元101"]
)
def test_search_as_secretaries_type(login, secretary_a, granny, query):
    """The phone's last four (the lists show the tail), a compound's name with the room."""
    body = login(secretary_a).get(reverse("residents:list"), {"q": query}).content.decode()
    assert "张桂兰" in body, query


def test_a_compound_name_narrows_the_room_search(login, secretary_a, compound_a, granny):
    from tests.factories import BuildingFactory, CompoundFactory

    other = CompoundFactory(community=compound_a.community, name="云祥小区")
    BuildingFactory(compound=other, number="1")
    body = login(secretary_a).get(reverse("residents:list"), {"q": "云祥小区1号楼1单元101"})
    assert "张桂兰" not in body.content.decode()


@pytest.mark.parametrize("role", ["secretary_a", "medic"])
def test_one_tap_call_dials_and_is_recorded(request, login, role, granny):
    """From the ledger (a volunteer calls from a delivery they carry: test_reach)."""
    user = request.getfixturevalue(role)
    client = login(user)
    ledger = client.get(reverse("residents:ledger")).content.decode()
    assert PHONE not in ledger and reverse("residents:call", args=[granny.pk]) in ledger
    response = client.post(reverse("residents:call", args=[granny.pk]))
    assert response.status_code == 303 and response["Location"] == f"tel:{PHONE}"
    access = PersonalDataAccess.objects.get(kind="call")
    assert access.user == user and access.resident == granny


def test_district_staff_do_not_call_and_outsiders_get_404(
    login, district_staff, secretary_b, granny
):
    assert (
        login(district_staff).post(reverse("residents:call", args=[granny.pk])).status_code == 403
    )
    assert login(secretary_b).post(reverse("residents:call", args=[granny.pk])).status_code == 404
    assert not PersonalDataAccess.objects.exists()


def test_a_room_above_the_top_floor_is_refused(login, secretary_a, compound_a):
    building = compound_a.buildings.get(number="1")  # 6 floors
    response = login(secretary_a).post(
        reverse("residents:household_add"), {"building": building.pk, "room": "99901"}
    )
    assert response.status_code == 400
    assert "999" in response.content.decode()
    assert not Household.objects.exists()
