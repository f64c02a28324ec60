"""The admin follows the pages' rules: masked for every role, its export reserved and
recorded, rule fields read-only, a compound's move carried to every copy of its community."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from compounds.models import Compound
from compounds.services import compound_move
from residents import services
from residents.models import Household, PersonalDataAccess, Resident
from residents.resources import ResidentResource
from tests.factories import CommunityFactory
from tests.residents.helpers import make_id

PHONE = "19893100765"
ID = make_id(9, "19640120")
BORN = "1964-01-20"


@pytest.fixture
def person(secretary_a, compound_a):
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )
    person = services.resident_save(
        by=secretary_a, household=home, data={"name": "王建军", "phone": PHONE}, national_id=ID
    )
    services.resident_save(
        by=secretary_a, household=home, data={"notes": "改过一次"}, resident=person
    )
    return person


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="x-Wuyi-2026")


@pytest.mark.parametrize(
    "role", ["secretary_a", "district_staff", "volunteer", "medic", "superuser"]
)
def test_admin_pages_mask_as_the_pages_do(request, client, person, role):
    """Change, history, list, search and a past version: no role reads the full phone, the
    ID number or the birth date in the admin (it records nothing)."""
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    version = person.history.order_by("history_id").first().history_id
    base = "/admin/residents/resident/"
    urls = [
        base,
        f"{base}?q=王",
        f"{base}?q={PHONE[:7]}",
        f"{base}{person.pk}/change/",
        f"{base}{person.pk}/history/",
        f"{base}{person.pk}/history/{version}/",
        f"{base}export/",
    ]
    for url in urls:
        response = client.get(url)
        body = b"" if response.streaming else response.content
        text = body.decode(errors="ignore")
        assert PHONE not in text and ID not in text and BORN not in text, (role, url)
        assert response.status_code in (200, 302, 403, 404), (role, url, response.status_code)


def test_admin_change_keeps_the_phone_and_checks_the_record(client, secretary_a, person):
    secretary_a.user_permissions.set(Permission.objects.all())
    client.force_login(secretary_a)
    url = f"/admin/residents/resident/{person.pk}/change/"
    data = {
        "household": person.household_id,
        "name": "王建军",
        "gender": "F",  # the ID number says a man
        "relation": "",
        "notes": "",
        "tags-TOTAL_FORMS": "0",
        "tags-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "性别与身份证号不符" in response.content.decode()
    data["gender"] = "M"
    data["relation"] = "户主"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.phone == PHONE and person.relation == "户主"


def test_admin_export_is_for_administrators_and_recorded(client, secretary_a, superuser, person):
    secretary_a.user_permissions.set(Permission.objects.all())
    client.force_login(secretary_a)
    assert client.get("/admin/residents/resident/export/").status_code == 403
    client.force_login(superuser)
    response = client.post(
        "/admin/residents/resident/export/",
        {
            "resource": "0",
            "format": "0",
            **{f"residentresource_{f}": "on" for f in ResidentResource.Meta.fields},
        },
    )
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attach")
    assert PersonalDataAccess.objects.filter(kind="export", user=superuser).count() == 1


def test_admin_export_escapes_every_formula_start():
    class Fake:
        pass

    resource = ResidentResource()
    for text in ("=1+1", "@SUM(A1)", '+HYPERLINK("x")', "-2+3+cmd|' /C calc'!A0", "\tx"):
        fake = Fake()
        fake.notes = text
        assert resource.export_field(resource.fields["notes"], fake).startswith("'"), text


@pytest.mark.parametrize("role", ["secretary_a", "district_staff"])
def test_rule_fields_are_read_only_in_the_admin(request, client, compound_a, role):
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    url = f"/admin/compounds/compound/{compound_a.pk}/change/"
    client.post(
        url,
        {
            "community": CommunityFactory().pk,
            "code": compound_a.code,
            "name": compound_a.name,
            "address": "",
            "status": "normal",
            "last_positive_on": "2020-01-01",
            "buildings-TOTAL_FORMS": "0",
            "buildings-INITIAL_FORMS": "0",
        },
    )
    compound_a.refresh_from_db()
    assert compound_a.last_positive_on != datetime.date(2020, 1, 1)
    assert compound_a.community.name.startswith("ALPHA")


def test_moving_a_compound_moves_its_residents(
    secretary_a, secretary_b, superuser, compound_a, community_b, django_assert_max_num_queries
):
    """10,000 residents move with their compound in one transaction: the old secretary loses
    them at once, the new one gains them."""
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="1"
    )
    Resident.objects.bulk_create(
        [
            Resident(
                household=home,
                compound_id=compound_a.pk,
                community_id=compound_a.community_id,
                name=f"居民{n}",
            )
            for n in range(10_000)
        ],
        batch_size=2000,
    )
    assert Resident.objects.visible_to(secretary_a).count() == 10_000
    with django_assert_max_num_queries(12):
        compound_move(by=superuser, compound_id=compound_a.pk, community=community_b)
    assert Resident.objects.visible_to(secretary_a).count() == 0
    assert Resident.objects.visible_to(secretary_b).count() == 10_000
    assert Compound.objects.get(pk=compound_a.pk).community == community_b
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        compound_move(by=secretary_b, compound_id=compound_a.pk, community=compound_a.community)


def test_read_only_resource_imports_through_the_service(superuser, person):
    """The admin's import (administrators only) writes through resident_save."""
    import tablib

    dataset = tablib.Dataset(headers=["id", "户号", "姓名", "性别", "身份证号", "联系电话", "备注"])
    dataset.append([person.pk, person.household_id, "王建军", "女", "*", "198****0765", ""])
    result = ResidentResource().import_data(dataset, dry_run=False, user=superuser)
    assert result.has_validation_errors() or result.has_errors()
    person.refresh_from_db()
    assert person.gender == "M" and person.phone == PHONE


@pytest.mark.parametrize("role", ["secretary_a", "district_staff", "superuser"])
def test_a_corrections_history_shows_no_personal_values(request, client, person, role):
    """A phone corrected, a birth date set, an ID number replaced: the admin's history page
    shows that the record changed, never the old or the new values (history keeps none)."""
    secretary = request.getfixturevalue("secretary_a")
    new_phone, new_id = "13912345678", make_id(7, "19700203")
    services.resident_save(
        by=secretary,
        household=person.household,
        data={"phone": new_phone},
        national_id=new_id,
        resident=person,
    )
    user = request.getfixturevalue(role)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    response = client.get(f"/admin/residents/resident/{person.pk}/history/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "王建军" in text  # the page is the resident's
    for value in (PHONE, new_phone, BORN, "1970-02-03", "1964年1月20日", "1970年2月3日"):
        assert value not in text, value
    for last4 in (ID[-4:], new_id[-4:]):  # as a value of its own, not inside a token
        assert not re.search(rf"(?<![0-9A-Za-z]){last4}(?![0-9A-Za-z])", text), last4
    stored = {f.name for f in Resident.history.model._meta.get_fields()}
    assert not stored & {"phone", "birth_date", "id_last4", "id_hash", "id_cipher"}
