"""Walk every admin changelist with a field lookup on every personal field, as every staff role.

Nothing here names an admin or a field: the admins are read from the admin site, and the
personal fields (phones, birth dates, ID-number columns: wuyi.lib.pii.is_personal_field) are
found on each admin's model and on the models one or two relations away
(``household__residents__phone__startswith``). A new admin, or a new phone column, is walked
without anyone editing this file.

Before: ``/admin/residents/resident/?id__exact=1195&phone__startswith=1984114`` answered "1 居民"
or "0 居民", so that district staff rebuilt a full phone and birth date digit by digit. Now every
such lookup is refused (400 DisallowedModelAdminLookup, the changelist's ``?e=1`` redirect, or no
access at all), and no count comes back.
"""

import logging

import pytest
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.models import Permission
from django.db import models
from django.urls import reverse

from accounts.admin import declared_field_paths
from accounts.models import Role, User
from residents.models import Household, Resident
from residents.services import resident_save
from tests.factories import UserFactory
from tests.residents.helpers import make_id
from wuyi.lib.pii import is_personal_field

PHONE = "13893112345"
DEPTH = 2  # relations followed from the admin's model to a personal field


def personal_paths(model: type[models.Model], depth: int = DEPTH, seen=()) -> list[str]:
    """Lookup paths from `model` to every personal field within `depth` relations."""
    paths = []
    for field in model._meta.get_fields():
        if not field.is_relation:
            if is_personal_field(field):
                paths.append(field.name)
            continue
        related = field.related_model
        if depth == 0 or related is None or related in seen:
            continue
        # A reverse relation is looked up by its query name (household__residents__phone);
        # one declared with related_name="+" cannot be.
        query_name = field.name
        if getattr(field, "hidden", False) or query_name.endswith("+"):
            continue
        paths += [
            f"{query_name}__{path}" for path in personal_paths(related, depth - 1, (*seen, model))
        ]
    return paths


def changelists() -> list[tuple[str, type[models.Model]]]:
    return sorted(
        (
            (reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist"), m)
            for m in admin.site._registry
        ),
        key=lambda pair: pair[0],
    )


def test_the_walk_finds_personal_fields():
    """The walk can fail: the register's admin is walked with its phone and birth date, and
    through a relation."""
    walked = {model: personal_paths(model) for _url, model in changelists()}
    assert {"phone", "birth_date", "id_last4"} <= set(walked[Resident])
    assert "residents__phone" in walked[Household]
    assert sum(len(paths) for paths in walked.values()) > 40


@pytest.fixture
def staff(district, subdistrict, secretary_a, district_staff):
    sub = UserFactory(username="sub", role=Role.SUBDISTRICT_STAFF, posted_to=subdistrict)
    root = User.objects.create_superuser("root", password="x-Wuyi-2026")
    everything = Permission.objects.all()
    users = {"secretary": secretary_a, "district": district_staff, "subdistrict": sub}
    for user in users.values():
        user.is_staff = True
        user.save()
        user.user_permissions.set(everything)
    users["superuser"] = root
    return users


@pytest.fixture
def person(secretary_a, compound_a):
    home = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )
    return resident_save(
        by=secretary_a,
        household=home,
        data={"name": "张桂兰", "phone": PHONE},
        national_id=make_id(1, "19500312", female=True),
    )


@pytest.fixture(autouse=True)
def _quiet_security_log():
    """Every refusal is logged by django.security: thousands are expected here."""
    logger = logging.getLogger("django.security")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def refused(response) -> bool:
    if response.status_code in (400, 403, 404):
        return True
    return response.status_code == 302 and "e=1" in response.headers.get("Location", "")


@pytest.mark.parametrize("role", ["secretary", "district", "subdistrict", "superuser"])
def test_no_admin_answers_a_lookup_on_personal_data(client, staff, person, role):
    client.force_login(staff[role])
    answered = []
    for url, model in changelists():
        for path in personal_paths(model):
            for query in (
                {f"{path}__startswith": PHONE[:7]},
                {"id__exact": person.pk, f"{path}__gte": "1950-01-01"},
            ):
                response = client.get(url, query)
                if not refused(response):
                    answered.append(f"{url}?{'&'.join(query)} → {response.status_code}")
    assert not answered, f"{role} got answers:\n" + "\n".join(answered[:40])


@pytest.mark.parametrize("role", ["secretary", "district"])
def test_a_lookup_outside_the_declared_filters_is_refused(client, staff, person, role):
    """Not only personal fields: the id of one row beside any undeclared field is refused;
    the declared filters and the search still work."""
    client.force_login(staff[role])
    base = "/admin/residents/resident/"
    for query in ({"id__exact": person.pk}, {"name__startswith": "张"}, {"gender": "F"}):
        assert refused(client.get(base, query)), query
    assert client.get(base, {"q": "张"}).status_code == 200
    tags = "/admin/residents/vulnerabletag/"
    assert client.get(tags, {"category__exact": "chronic"}).status_code == 200
    assert refused(client.get(tags, {"resident__name__startswith": "张"}))


def test_no_admin_declares_a_personal_field_to_filter_or_search():
    """Declared filters and searches are allowed: none may reach a personal field."""
    for model, model_admin in admin.site._registry.items():
        for path in declared_field_paths(model_admin):
            fields = get_fields_from_path(model, path)
            assert not any(is_personal_field(f) for f in fields), (model, path)
        for search in model_admin.search_fields:
            path = search.lstrip("^=@")
            fields = get_fields_from_path(model, path.split("__")[0])
            assert not any(is_personal_field(f) for f in fields), (model, search)
            assert not any(part for part in path.split("__") if "phone" in part), (model, search)
