"""A building moves with its households or not at all: in the admin its compound is fixed once
it exists, for every role (a move there left its households and residents behind)."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from compounds.models import Building
from residents.models import Household
from tests.factories import CompoundFactory


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="x-Wuyi-2026")


@pytest.mark.parametrize("role", ["secretary_a", "district_staff", "superuser"])
def test_a_posted_change_of_a_buildings_compound_does_nothing(request, client, compound_a, role):
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    building = compound_a.buildings.order_by("number").first()
    Household.objects.create(compound=compound_a, building=building, unit="1", room="101")
    # Another compound of the same community: within the secretary's reach too.
    other = CompoundFactory(community=compound_a.community, code="A-02", name="云祥小区")
    url = f"/admin/compounds/building/{building.pk}/change/"
    response = client.post(
        url,
        {
            "compound": other.pk,
            "number": building.number,
            "name": "改名",
            "unit_count": "2",
            "floor_count": "7",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    building.refresh_from_db()
    assert building.compound_id == compound_a.pk
    assert building.name == "改名"  # the rest of the form still saves
    assert Household.objects.get(building=building).compound_id == compound_a.pk
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="compound"' not in page.content.decode()  # shown, not offered


def test_a_new_building_still_chooses_its_compound(client, secretary_a, compound_a):
    secretary_a.user_permissions.set(Permission.objects.all())
    client.force_login(secretary_a)
    response = client.post(
        "/admin/compounds/building/add/",
        {
            "compound": compound_a.pk,
            "number": "9",
            "name": "",
            "unit_count": "1",
            "floor_count": "6",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Building.objects.get(compound=compound_a, number="9")
