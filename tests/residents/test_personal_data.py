"""Masks that cannot be undone: nothing a role sees (ages, last fours, search results, edit
forms, refusals) combines into a full ID number or phone without the recorded full view."""

import pytest
from django.urls import reverse

from residents import services
from residents.models import Household, PersonalDataAccess, Resident
from tests.factories import BuildingFactory, CompoundFactory, UserFactory
from tests.residents.helpers import make_id

PHONE = "19893100765"
ID = make_id(8, "19640120")


@pytest.fixture
def home(compound_a):
    return Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )


@pytest.fixture
def person(secretary_a, home):
    return services.resident_save(
        by=secretary_a, household=home, data={"name": "王建军", "phone": PHONE}, national_id=ID
    )


def page(client, name, *args, **params):
    return client.get(reverse(name, args=args), params)


@pytest.fixture
def subdistrict_staff(subdistrict):
    return UserFactory(username="sub", role="subdistrict_staff", posted_to=subdistrict)


@pytest.mark.parametrize("role", ["district_staff", "subdistrict_staff"])
def test_masked_roles_see_the_last_four_and_an_age_only(request, login, role, person):
    client = login(request.getfixturevalue(role))
    for body in (
        page(client, "residents:list").content.decode(),
        page(client, "residents:detail", person.pk).content.decode(),
        page(client, "residents:household", person.household_id).content.decode(),
        page(client, "resident-detail", person.pk).content.decode(),
        page(client, "resident-list").content.decode(),
    ):
        assert PHONE not in body and ID not in body
        assert "1964-01-20" not in body and "19640120" not in body
        assert ID[:6] not in body  # not even the area code beside the last four
    row = page(client, "resident-detail", person.pk).json()
    assert row["national_id_masked"] == "*" * 14 + ID[-4:]
    assert "birth_date" not in row and row["age"] >= 60


@pytest.mark.parametrize("role", ["district_staff", "subdistrict_staff"])
def test_masked_roles_cannot_confirm_a_guessed_id_or_phone(request, login, role, person):
    """The mask 198****0765 leaves 10,000 candidates: a search by a whole number would confirm
    each guess (the oracle the search was), so masked roles are refused a whole number as they
    are its start; its last four (shown on every list) still find the person."""
    client = login(request.getfixturevalue(role))
    for query in (ID, ID[:15], PHONE, "198 9310 0765", PHONE[:7], PHONE[:5]):
        response = page(client, "residents:list", q=query)
        body = response.content.decode()
        assert "王建军" not in body, query
        assert "后四位" in body, query
        api = page(client, "resident-list", q=query)
        assert api.status_code == 400 and "q" in api.json(), query
        assert "王建军" not in api.content.decode(), query
    for query in (PHONE[-4:], ID[-4:]):
        assert "王建军" in page(client, "residents:list", q=query).content.decode(), query
        assert "王建军" in page(client, "resident-list", q=query).content.decode(), query
    assert not PersonalDataAccess.objects.exists()


def test_the_secretary_may_search_by_the_full_id_and_a_phone_prefix(login, secretary_a, person):
    client = login(secretary_a)
    for query in (ID, PHONE, PHONE[:7]):
        assert "王建军" in page(client, "residents:list", q=query).content.decode(), query


def test_edit_form_shows_the_masked_phone_until_revealed(login, secretary_a, person):
    client = login(secretary_a)
    body = page(client, "residents:edit", person.pk).content.decode()
    assert PHONE not in body and "198****0765" in body
    assert "1964-01-20" not in body  # the birth date is the ID number's, not shown
    # Saving with the mask left in place keeps the phone.
    response = client.post(
        reverse("residents:edit", args=[person.pk]),
        {"name": "王建军", "phone": "198****0765", "relation": "户主"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.phone == PHONE and person.relation == "户主"
    assert not PersonalDataAccess.objects.exists()
    # Revealing it into the form is recorded, like the detail page's full view.
    response = client.post(reverse("residents:reveal", args=[person.pk]), {"into": "form"})
    assert PHONE in response.content.decode() and 'name="phone"' in response.content.decode()
    assert PersonalDataAccess.objects.filter(kind="view", resident=person).count() == 1
    # Typing a new number changes it.
    client.post(
        reverse("residents:edit", args=[person.pk]), {"name": "王建军", "phone": "13912345678"}
    )
    person.refresh_from_db()
    assert person.phone == "13912345678"


def test_a_registered_id_number_is_refused_without_saying_where(
    login, secretary_a, secretary_b, person, compound_b
):
    """Saying "registered in another community" would tell B where the person lives."""
    home_b = Household.objects.create(
        compound=compound_b, building=compound_b.buildings.first(), unit="1", room="1"
    )
    for user, household in ((secretary_b, home_b), (secretary_a, person.household)):
        response = login(user).post(
            reverse("residents:create", args=[household.pk]),
            {"name": "冒名", "national_id": ID},
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "登记册中已有" in body
        assert "其他社区" not in body and "另一" not in body
    # Both attempts are recorded, each under the place it was made in.
    attempts = PersonalDataAccess.objects.filter(kind="id_conflict").order_by("id")
    assert [a.user for a in attempts] == [secretary_b, secretary_a]
    assert attempts[0].community == compound_b.community
    assert not Resident.objects.filter(name="冒名").exists()


def test_import_of_a_number_registered_elsewhere_is_recorded(
    tmp_path, secretary_b, person, compound_b
):
    from tests.residents.helpers import write_xlsx

    rows = [[1, "冒名", "", ID, "", "1", "1", "101", "", "", ""]]
    report = services.resident_import(
        path=write_xlsx(tmp_path / "l.xlsx", rows),
        community_id=compound_b.community_id,
        compound_id=compound_b.pk,
        by=secretary_b,
        dry_run=True,
    )
    assert report["bad_rows"] == 1
    assert "另一" not in report["errors"][0]["message"]
    access = PersonalDataAccess.objects.get(kind="id_conflict")
    assert access.user == secretary_b and access.row_count == 1
    assert access.community == compound_b.community


def test_birth_date_is_part_of_the_recorded_full_view(login, secretary_a, person):
    body = login(secretary_a).post(reverse("residents:reveal", args=[person.pk])).content.decode()
    assert "1964-01-20" in body and PHONE in body and ID in body


def test_outsider_compound_filter_is_404_not_a_place_in_the_log(login, secretary_a, compound_b):
    other = CompoundFactory(community=compound_b.community)
    BuildingFactory(compound=other)
    response = page(login(secretary_a), "residents:export", compound=other.pk)
    assert response.status_code == 404
    assert not PersonalDataAccess.objects.exists()
