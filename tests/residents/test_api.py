"""The register API: scoped reads, masked output, writes only by the register keepers."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from residents import services
from residents.models import Household, Resident, VulnerableTag
from tests.residents.helpers import make_id

PHONE = "13812345678"
GRANNY_ID = make_id(1, "19500312", female=True)


def household(compound, building="1", unit="2", room="501") -> Household:
    return Household.objects.create(
        compound=compound, building=compound.buildings.get(number=building), unit=unit, room=room
    )


def resident(user, home, name, national_id=None, **data) -> Resident:
    return services.resident_save(
        by=user, household=home, data={"name": name, **data}, national_id=national_id
    )


@pytest.fixture
def home_a(compound_a):
    return household(compound_a)


@pytest.fixture
def granny(secretary_a, home_a):
    return resident(secretary_a, home_a, "张秀英", GRANNY_ID, phone=PHONE, relation="户主")


@pytest.fixture
def home_b(compound_b):
    return household(compound_b, room="101")


@pytest.fixture
def resident_b(secretary_b, home_b):
    return resident(secretary_b, home_b, "李建国", make_id(2, "19700101"), phone="13900001111")


def post(client, name, data):
    return client.post(reverse(name), data, content_type="application/json")


def patch(client, name, pk, data):
    return client.patch(reverse(name, args=[pk]), data, content_type="application/json")


# ----------------------------------------------------------------------------- reading


def test_secretary_lists_only_her_residents_masked(login, secretary_a, granny, resident_b):
    client = login(secretary_a)
    response = client.get(reverse("resident-list"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["张秀英"]
    row = rows[0]
    assert row["phone_masked"] == "138****5678"
    assert row["national_id_masked"] == "*" * 14 + GRANNY_ID[-4:]
    assert row["address"] == "1号楼2单元501"
    # An age, never the birth date: beside the last four it would give the number away.
    assert "birth_date" not in row and row["gender"] == "F" and row["age"] >= 70
    assert "phone" not in row and "national_id" not in row
    for body in (response, client.get(reverse("resident-detail", args=[granny.pk]))):
        assert PHONE not in body.content.decode()
        assert GRANNY_ID not in body.content.decode()


def test_categories_and_filters(login, secretary_a, compound_a, community_a, granny, home_a):
    from tests.factories import BuildingFactory, CompoundFactory

    VulnerableTag.objects.create(resident=granny, category="elderly_alone")
    VulnerableTag.objects.create(resident=granny, category="chronic")
    other_compound = CompoundFactory(community=community_a, name="东湖小区")
    BuildingFactory(compound=other_compound, number="1")
    son = resident(secretary_a, household(other_compound), "王强")
    client = login(secretary_a)

    rows = client.get(reverse("resident-list")).json()["results"]
    assert {row["name"]: row["categories"] for row in rows} == {
        "张秀英": ["chronic", "elderly_alone"],
        "王强": [],
    }
    rows = client.get(reverse("resident-list"), {"category": "elderly_alone"}).json()["results"]
    assert [row["id"] for row in rows] == [granny.pk]
    rows = client.get(reverse("resident-list"), {"compound": other_compound.pk}).json()["results"]
    assert [row["id"] for row in rows] == [son.pk]


def test_search_by_name_prefix_and_id_last4(login, secretary_a, home_a, granny):
    other = resident(secretary_a, home_a, "李明", make_id(3, "19900505"))
    client = login(secretary_a)

    def found(q):
        return [
            row["id"] for row in client.get(reverse("resident-list"), {"q": q}).json()["results"]
        ]

    assert found("张") == [granny.pk]
    assert found("李") == [other.pk]
    assert found(GRANNY_ID[-4:]) == [granny.pk]
    assert found(other.national_id[-4:]) == [other.pk]
    assert found("赵") == []


def test_outsider_gets_404_and_cannot_write_into_a(login, secretary_b, granny, home_a, resident_b):
    client = login(secretary_b)
    assert client.get(reverse("resident-detail", args=[granny.pk])).status_code == 404
    assert client.get(reverse("household-detail", args=[home_a.pk])).status_code == 404
    assert [r["id"] for r in client.get(reverse("resident-list")).json()["results"]] == [
        resident_b.pk
    ]

    response = patch(client, "resident-detail", granny.pk, {"name": "改名"})
    assert response.status_code == 404
    response = patch(client, "household-detail", home_a.pk, {"room": "999"})
    assert response.status_code == 404
    response = post(client, "resident-list", {"household": home_a.pk, "name": "入侵者"})
    assert response.status_code in (400, 404)
    assert "ALPHA" not in response.content.decode()

    assert Resident.objects.filter(household=home_a).count() == 1
    granny.refresh_from_db()
    home_a.refresh_from_db()
    assert granny.name == "张秀英" and home_a.room == "501"


def test_volunteer_neither_reads_nor_writes(login, volunteer, granny, home_a, compound_a):
    """A volunteer's residents are their tasks': the register's API is not in their reach."""
    client = login(volunteer)
    for url in (reverse("resident-list"), reverse("resident-detail", args=[granny.pk])):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "张秀英" not in response.content.decode()

    response = post(client, "resident-list", {"household": home_a.pk, "name": "新人"})
    assert response.status_code == 403
    assert patch(client, "resident-detail", granny.pk, {"notes": "x"}).status_code == 403
    building = compound_a.buildings.get(number="2").pk
    assert post(client, "household-list", {"building": building, "room": "1"}).status_code == 403
    assert Resident.objects.count() == 1 and Household.objects.count() == 1
    granny.refresh_from_db()
    assert granny.notes == ""


# ----------------------------------------------------------------------------- writing


def test_create_and_partial_update_record_history(login, secretary_a, home_a):
    client = login(secretary_a)
    response = post(
        client,
        "resident-list",
        {
            "household": home_a.pk,
            "name": " 张  秀英 ",
            "phone": "138-1234-5678",
            "national_id": GRANNY_ID.lower(),
            "relation": "户主",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert PHONE not in response.content.decode() and GRANNY_ID not in response.content.decode()
    person = Resident.objects.get(pk=body["id"])
    assert person.name == "张 秀英"
    assert person.phone == PHONE and person.national_id == GRANNY_ID
    assert person.birth_date == datetime.date(1950, 3, 12) and person.gender == "F"
    assert person.compound_id == home_a.compound_id
    assert person.history.count() == 1
    assert person.history.first().history_user == secretary_a

    response = patch(client, "resident-detail", person.pk, {"notes": "独居，需送药"})
    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert person.notes == "独居，需送药"
    assert person.name == "张 秀英" and person.phone == PHONE  # untouched by the patch
    assert person.national_id == GRANNY_ID
    assert person.history.count() == 2


def test_bad_check_digit_is_refused(login, secretary_a, home_a):
    bad = GRANNY_ID[:17] + ("0" if GRANNY_ID[17] != "0" else "1")
    response = post(
        login(secretary_a),
        "resident-list",
        {"household": home_a.pk, "name": "张三", "national_id": bad},
    )
    assert response.status_code == 400
    assert list(response.json()) == ["national_id"]
    assert not Resident.objects.exists()


def test_duplicate_id_is_refused(login, secretary_a, home_a, granny):
    response = post(
        login(secretary_a),
        "resident-list",
        {"household": home_a.pk, "name": "冒名", "national_id": GRANNY_ID},
    )
    assert response.status_code == 400
    assert "national_id" in response.json()
    assert Resident.objects.count() == 1


def test_duplicate_id_on_update_is_refused(login, secretary_a, home_a, granny):
    other = resident(secretary_a, home_a, "李明", make_id(3, "19900505"))
    response = patch(login(secretary_a), "resident-detail", other.pk, {"national_id": GRANNY_ID})
    assert response.status_code == 400
    assert "national_id" in response.json()
    other.refresh_from_db()
    assert other.national_id == make_id(3, "19900505")


def test_bad_phone_is_refused(login, secretary_a, home_a):
    response = post(
        login(secretary_a),
        "resident-list",
        {"household": home_a.pk, "name": "张三", "phone": "1381234567"},
    )
    assert response.status_code == 400
    assert list(response.json()) == ["phone"]
    assert not Resident.objects.exists()


def test_blank_name_is_refused(login, secretary_a, home_a, granny):
    client = login(secretary_a)
    response = post(client, "resident-list", {"household": home_a.pk, "name": "   "})
    assert response.status_code == 400
    assert "name" in response.json()
    assert Resident.objects.count() == 1
    assert patch(client, "resident-detail", granny.pk, {"name": "\u3000 "}).status_code == 400
    granny.refresh_from_db()
    assert granny.name == "张秀英"


# ----------------------------------------------------------------------------- households


def test_household_create_derives_compound(login, secretary_a, compound_a):
    building = compound_a.buildings.get(number="2")
    response = post(
        login(secretary_a), "household-list", {"building": building.pk, "unit": "1", "room": "302"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["compound"] == compound_a.pk and body["address"] == "2号楼1单元302"
    created = Household.objects.get(pk=body["id"])
    assert created.compound_id == compound_a.pk
    assert created.history.first().history_user == secretary_a


def test_household_duplicate_address_is_400(login, secretary_a, home_a):
    client = login(secretary_a)
    data = {"building": home_a.building_id, "unit": "02", "room": "５０１室"}
    response = post(client, "household-list", data)
    assert response.status_code == 400
    assert "1号楼2单元501" in response.json()["non_field_errors"][0]
    assert Household.objects.count() == 1

    other = household(home_a.compound, room="502")
    response = patch(client, "household-detail", other.pk, {"room": "501"})
    assert response.status_code == 400
    other.refresh_from_db()
    assert other.room == "502"


def test_household_invisible_building_looks_like_missing(login, secretary_a, compound_b):
    client = login(secretary_a)
    hidden = compound_b.buildings.get().pk
    missing = hidden + 1000
    r_hidden = post(client, "household-list", {"building": hidden, "room": "1"})
    r_missing = post(client, "household-list", {"building": missing, "room": "1"})
    assert r_hidden.status_code == r_missing.status_code == 400
    assert r_hidden.json()["building"][0].replace(str(hidden), "N") == r_missing.json()["building"][
        0
    ].replace(str(missing), "N")
    assert not Household.objects.exists()


def test_household_cannot_move_to_another_compound(login, secretary_a, community_a, home_a):
    from tests.factories import BuildingFactory, CompoundFactory

    elsewhere = BuildingFactory(compound=CompoundFactory(community=community_a), number="9")
    response = patch(login(secretary_a), "household-detail", home_a.pk, {"building": elsewhere.pk})
    assert response.status_code == 400
    assert "building" in response.json()
    home_a.refresh_from_db()
    assert home_a.compound_id != elsewhere.compound_id


def test_household_filters(login, district_staff, compound_a, home_a, home_b):
    client = login(district_staff)
    rows = client.get(reverse("household-list")).json()["results"]
    assert {row["id"] for row in rows} == {home_a.pk, home_b.pk}
    rows = client.get(reverse("household-list"), {"compound": compound_a.pk}).json()["results"]
    assert [row["id"] for row in rows] == [home_a.pk]
    rows = client.get(reverse("household-list"), {"building": home_b.building_id}).json()["results"]
    assert [row["id"] for row in rows] == [home_b.pk]
    assert (
        post(client, "household-list", {"building": home_a.building_id, "room": "9"}).status_code
        == 403
    )


# ----------------------------------------------------------------------------- schema, queries


def test_schema_lists_the_register(login, secretary_a):
    response = login(secretary_a).get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert "/api/residents/" in schema["paths"] and "/api/households/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/residents/"]["get"]["parameters"]}
    assert {"q", "compound", "category"} <= params
    params = {p["name"] for p in schema["paths"]["/api/households/"]["get"]["parameters"]}
    assert {"compound", "building"} <= params


def test_list_query_count_is_constant(
    login, secretary_a, compound_a, django_assert_max_num_queries
):
    client = login(secretary_a)

    def add(first, last):
        for n in range(first, last):
            home = household(compound_a, building=str(1 + n % 2), room=str(100 + n))
            person = resident(secretary_a, home, f"居民{n}", make_id(n, "19600101"), phone=PHONE)
            VulnerableTag.objects.create(resident=person, category="elderly")

    add(0, 3)
    client.get(reverse("resident-list"))  # warm the session
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(reverse("resident-list")).json()["results"]) == 3
    add(3, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = client.get(reverse("resident-list")).json()["results"]
    assert len(rows) == 30
    assert all(row["categories"] == ["elderly"] and row["address"] for row in rows)
