"""One home for each register rule: the form, the API, the import, the admin and the services
agree, every write checks the record as a whole, and residents can leave the register."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from residents import rules, services
from residents.models import Household, PersonalDataAccess, Resident
from tests.factories import CompoundFactory
from tests.residents.helpers import make_id, write_csv
from wuyi.lib.cn import NormalizeError
from wuyi.lib.errors import Refused
from wuyi.lib.pagination import CappedPaginator

MAN_ID = make_id(5, "19640120")  # a man born 1964-01-20


# ----------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("building", "unit", "room", "expected"),
    [
        ("1", "2", "501a", ("1", "2", "501A")),
        ("1", "2", "５０１", ("1", "2", "501")),
        ("1", "02", "501室", ("1", "2", "501")),
        ("1", "", "1-2-501", ("1", "2", "501")),
        ("", "", "1号楼2单元501室", ("1", "2", "501")),
        ("1号楼", "2单元", "501", ("1", "2", "501")),
        ("一号楼", "二单元", "501", ("1", "2", "501")),
        ("01", "", "1201b", ("1", "", "1201B")),
        (1, 2, 501.0, ("1", "2", "501")),
    ],
)
def test_clean_address(building, unit, room, expected):
    address = rules.clean_address(building, unit, room)
    assert (address.building, address.unit, address.room) == expected


@pytest.mark.parametrize(
    ("building", "unit", "room", "field"),
    [
        ("1", "2", "", "room"),
        ("", "2", "501", "building"),
        ("2", "", "1-2-501", "room"),  # the room names building 1, the form says 2
        ("1", "3", "1-2-501", "room"),
        ("1", "", "501/502", "room"),
    ],
)
def test_clean_address_refusals_name_the_field(building, unit, room, field):
    with pytest.raises(NormalizeError) as info:
        rules.clean_address(building, unit, room)
    assert info.value.field == field


AWKWARD = [
    # (what a secretary types in the room column, with building 1 and unit 2 where given)
    ("501a", "1", "2"),
    ("５０１", "1", "2"),
    ("1-2-501", "1", ""),
    ("1号楼2单元501室", "", ""),
]


@pytest.mark.parametrize(("room", "building", "unit"), AWKWARD)
def test_import_api_form_and_search_agree_on_a_flat(
    login, secretary_a, compound_a, tmp_path, room, building, unit
):
    """The same awkward input makes one household, however it arrives, and search finds it."""
    client = login(secretary_a)
    building_obj = compound_a.buildings.get(number="1")
    expected = rules.clean_address(building or "1", unit, room)

    # The list import.
    rows = [[1, "王一", "", "", "", building or "", unit, room, "户主", "", ""]]
    path = write_csv(tmp_path / "l.csv", rows)
    services.resident_import(
        path=path,
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=secretary_a,
        dry_run=False,
    )
    imported = Household.objects.get()
    assert (imported.unit, imported.room) == (expected.unit, expected.room)

    # The API and the form answer "already registered" for the same flat.
    response = client.post(
        reverse("household-list"),
        {"building": building_obj.pk, "unit": unit, "room": room},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "已登记为一户" in response.json()["non_field_errors"][0]
    response = client.post(
        reverse("residents:household_add"),
        {"building": building_obj.pk, "unit": unit, "room": room},
    )
    assert response.status_code == 400
    assert "已登记为一户" in response.content.decode()
    assert Household.objects.count() == 1

    # Search by the room as typed, and by the address as printed, finds the resident.
    for query in (imported.address, f"1-{expected.unit}-{expected.room}"):
        body = client.get(reverse("residents:list"), {"q": query}).content.decode()
        assert "王一" in body, query
    if expected.room.endswith("A"):
        body = client.get(reverse("residents:list"), {"q": "501a"}).content.decode()
        assert "王一" in body


def test_household_form_creates_through_the_rule(login, secretary_a, compound_a):
    building = compound_a.buildings.get(number="2")
    response = login(secretary_a).post(
        reverse("residents:household_add"),
        {"building": building.pk, "unit": "03", "room": "２０２ｂ室"},
    )
    assert response.status_code == 302
    household = Household.objects.get()
    assert (household.unit, household.room, household.compound) == ("3", "202B", compound_a)
    assert household.history.get().history_user == secretary_a


def test_household_cannot_move_to_another_compound(login, secretary_a, compound_a, community_a):
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )
    other = CompoundFactory(community=community_a)
    elsewhere = other.buildings.create(number="9")
    with pytest.raises(Refused) as info:
        services.household_save(by=secretary_a, building=elsewhere, room="101", household=home)
    assert info.value.field == "building"


# ----------------------------------------------------------------------------- a record as a whole


@pytest.fixture
def home(compound_a):
    return Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )


@pytest.fixture
def man(secretary_a, home):
    return services.resident_save(
        by=secretary_a, household=home, data={"name": "李建国"}, national_id=MAN_ID
    )


def patch(client, pk, data):
    return client.patch(
        reverse("resident-detail", args=[pk]), data, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"gender": "F", "birth_date": "3008-02-17"}, "gender"),
        ({"gender": "F", "birth_date": "3008-02-17"}, "birth_date"),
        ({"birth_date": "1970-01-01"}, "birth_date"),
        ({"gender": "F"}, "gender"),
        ({"relation": "\u0003"}, "relation"),
        ({"notes": "行\u0007"}, "notes"),
        ({"name": "<b>李</b>"}, "name"),
    ],
)
def test_a_partial_update_is_judged_against_the_stored_row(login, secretary_a, man, data, field):
    """The API fuzz run's finds: a PATCH carrying some fields is checked with the rest."""
    before = Resident.objects.values().get(pk=man.pk)
    response = patch(login(secretary_a), man.pk, data)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Resident.objects.values().get(pk=man.pk) == before


def test_birth_date_without_an_id_must_be_plausible(login, secretary_a, home):
    client = login(secretary_a)
    response = client.post(
        reverse("resident-list"),
        {"household": home.pk, "name": "王芳", "birth_date": "3008-02-17"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "birth_date" in response.json()
    response = client.post(
        reverse("resident-list"),
        {"household": home.pk, "name": "王芳", "birth_date": "1958-02-17", "gender": "F"},
        content_type="application/json",
    )
    assert response.status_code == 201


def test_the_export_survives_every_accepted_write(login, secretary_a, man):
    """A control character never gets in, so the community's export never fails on it."""
    client = login(secretary_a)
    patch(client, man.pk, {"relation": "户主\u0003", "notes": "\u001b[31m"})
    response = client.get(reverse("residents:export"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.active.max_row == 2


def test_resident_save_enforces_every_rule_itself(secretary_a, home):
    """Called directly (an import, a task), not only through a form."""
    with pytest.raises(Refused) as info:
        services.resident_save(
            by=secretary_a,
            household=home,
            data={"name": "王{五}", "gender": "F", "relation": "x" * 21},
            national_id=MAN_ID,
        )
    assert set(info.value.errors) == {"name", "gender", "relation"}
    assert not Resident.objects.exists()


def test_a_new_id_number_brings_its_gender_and_birth_date(secretary_a, man):
    woman_id = make_id(6, "19800808", female=True)
    services.resident_save(
        by=secretary_a, household=man.household, data={}, national_id=woman_id, resident=man
    )
    man.refresh_from_db()
    assert (man.gender, man.birth_date) == ("F", datetime.date(1980, 8, 8))


def test_refusals_read_the_same_on_the_page_and_the_api(login, secretary_a, man):
    client = login(secretary_a)
    api = patch(client, man.pk, {"gender": "F"}).json()["gender"][0]
    page = client.post(
        reverse("residents:edit", args=[man.pk]), {"name": "李建国", "gender": "F"}
    ).content.decode()
    assert api == "性别与身份证号不符。"
    assert api in page


# ----------------------------------------------------------------------------- leaving


@pytest.mark.clock
def test_a_resident_leaves_the_register(login, secretary_a, man, home):
    client = login(secretary_a)
    response = client.post(
        reverse("residents:leave", args=[man.pk]), {"reason": "moved_out", "note": "投靠子女"}
    )
    assert response.status_code == 302
    man.refresh_from_db()
    assert not man.is_current and man.left_reason == "moved_out"
    assert man.left_on == timezone.localdate()
    assert "投靠子女" in man.history.first().history_change_reason
    # Hidden from lists, counts, searches and the ledger; the record itself remains.
    client.get(reverse("residents:household", args=[home.pk]))  # shows (and uses up) the message
    for query in ("", "李", MAN_ID, MAN_ID[-4:], "1-1-101"):
        body = client.get(reverse("residents:list"), {"q": query}).content.decode()
        assert "李建国" not in body, query
    assert client.get(reverse("resident-list")).json()["count"] == 0
    assert (
        "李建国" not in client.get(reverse("residents:household", args=[home.pk])).content.decode()
    )
    detail = client.get(reverse("residents:detail", args=[man.pk])).content.decode()
    assert "注销" in detail
    # Their ID number may be registered again (after a move, somewhere else).
    services.resident_save(
        by=secretary_a, household=home, data={"name": "李建国"}, national_id=MAN_ID
    )
    # A departed resident is not edited any more.
    with pytest.raises(Refused):
        services.resident_save(by=secretary_a, household=home, data={}, resident=man)


@pytest.mark.clock
def test_leaving_is_refused_for_a_future_date_and_for_volunteers(
    login, secretary_a, volunteer, man
):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(Refused):
        services.resident_leave(by=secretary_a, resident=man, reason="deceased", on=tomorrow)
    response = login(volunteer).post(
        reverse("residents:leave", args=[man.pk]), {"reason": "deceased"}
    )
    assert response.status_code == 404  # the register is not a volunteer's page
    man.refresh_from_db()
    assert man.is_current


def test_households_merge(login, secretary_a, man, home, compound_a):
    twin = Household.objects.create(
        compound=compound_a, building=home.building, unit="1", room="102"
    )
    other = services.resident_save(
        by=secretary_a, household=twin, data={"name": "王芳", "gender": "F"}
    )
    response = login(secretary_a).post(
        reverse("residents:household_merge", args=[twin.pk]), {"target": home.pk}
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.household == home
    assert not Household.objects.filter(pk=twin.pk).exists()
    assert Household.history.filter(id=twin.pk, history_type="-").exists()


def test_households_of_two_compounds_do_not_merge(secretary_a, home, community_a):
    other = CompoundFactory(community=community_a)
    elsewhere = Household.objects.create(
        compound=other, building=other.buildings.create(number="1"), room="1"
    )
    with pytest.raises(Refused):
        services.household_merge(by=secretary_a, source=elsewhere, target=home)


# ----------------------------------------------------------------------------- lists and logs


def test_capped_paginator_counts_no_further_than_the_cap(secretary_a, home):
    for n in range(7):
        Resident(household=home, name=f"居民{n}").save()
    qs = Resident.objects.order_by("id")
    pager = CappedPaginator(qs, 2, cap=5)
    assert pager.count == 5 and pager.capped
    assert pager.num_pages == 3
    assert [r.name for r in pager.page(1)] == ["居民0", "居民1"]
    roomy = CappedPaginator(qs, 2, cap=50)
    assert roomy.count == 7 and not roomy.capped


def test_district_exports_are_logged_with_their_place(
    login, district_staff, secretary_a, man, district
):
    response = login(district_staff).get(reverse("residents:export"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    access = PersonalDataAccess.objects.get(kind="export")
    assert access.district == district and access.community is None
    assert access.row_count == 1
    # District staff see their own district's export in the log; a secretary below does not.
    assert PersonalDataAccess.objects.visible_to(district_staff).filter(pk=access.pk).exists()
    assert not PersonalDataAccess.objects.visible_to(secretary_a).filter(pk=access.pk).exists()


def test_secretary_exports_are_logged_under_the_community(login, secretary_a, district_staff, man):
    login(secretary_a).get(reverse("residents:export"))
    access = PersonalDataAccess.objects.get(kind="export")
    assert access.community == man.compound.community
    assert access.district == man.compound.district
    assert PersonalDataAccess.objects.visible_to(district_staff).filter(pk=access.pk).exists()


def test_reveal_checks_the_role_itself(volunteer, man):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.resident_reveal(by=volunteer, resident=man)
    assert not PersonalDataAccess.objects.exists()


def test_an_age_turns_at_midnight_in_shanghai(login, district_staff, home):
    """Born on 4 December 1950: 75 at 23:58 Beijing time on the 3rd, 76 at 00:02 on the 4th
    (16:02 UTC on the 3rd), on the model and in what masked roles read (the API's age)."""
    import zoneinfo

    import time_machine

    born = Resident.objects.create(
        household=home, name="王秀英", birth_date=datetime.date(1950, 12, 4), gender="F"
    )
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    for moment, age in (((2026, 12, 3, 23, 58), 75), ((2026, 12, 4, 0, 2), 76)):
        with time_machine.travel(datetime.datetime(*moment, tzinfo=shanghai), tick=False):
            client = login(district_staff)  # a session of that time (they expire)
            assert Resident.objects.get(pk=born.pk).age == age
            answer = client.get(reverse("resident-detail", args=[born.pk])).json()
            assert answer["age"] == age and "birth_date" not in answer
