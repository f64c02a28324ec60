"""Walk every URL pattern of the project as an outsider and as an anonymous visitor.

Patterns are read from the resolver, so a page added tomorrow is walked without anyone
remembering to add it here. Every id-like parameter is filled with every primary key that
exists in the test database (community A's objects among them); the other parameters take the
values their views understand. Everything of community A carries the marker ALPHA: the
secretary of community B must never see it, whatever the method, and her POSTs must change
nothing of A's. An anonymous visitor is sent to a login page or refused.
"""

import itertools
import logging
from collections.abc import Iterator

import pytest
from axes.models import AccessAttempt, AccessLog
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from rest_framework.authtoken.models import Token

from compounds.models import Building, Compound, StatusChange
from compounds.services import compound_change_status
from residents.models import Household, ImportJob, Resident, VulnerableTag
from residents.services import resident_reveal, resident_save, resident_tag_set
from tests.conftest import MARKER
from tests.residents.helpers import make_id

# Named parameters that are not ids, and the values their views accept.
NAMED_VALUES = {
    "format": ["json", "api"],
    "level": ["district", "subdistrict", "community"],
    "url": ["x"],  # the admin's catch-all
}
# Pages an anonymous visitor may open: the ways in.
PUBLIC = {"login", "set_language", "admin:login", "admin:jsi18n", "logout", "admin:logout"}


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + regex, ns)
        elif isinstance(pattern, URLPattern):
            yield prefix + regex, f"{namespace}{pattern.name}" if pattern.name else ""


def all_routes() -> list[tuple[str, list[str], str]]:
    """(format string, parameter names, url name) for every pattern of the project."""
    routes = []
    for regex, name in _walk(get_resolver().url_patterns):
        for fmt, params in normalize(regex):
            routes.append((fmt, params, name))
    return routes


# Tables whose rows are about people or places: their ids fill the parameters. (Permissions
# and content types are framework catalogues: walking their ids adds only time.)
FRAMEWORK_APPS = {"auth", "contenttypes", "sessions", "admin"}


def every_pk() -> list[str]:
    pks: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label in FRAMEWORK_APPS and model._meta.model_name != "user":
            continue
        if isinstance(model._meta.pk, models.AutoField | models.BigAutoField):
            pks.update(str(pk) for pk in model._default_manager.values_list("pk", flat=True))
    return sorted(pks, key=int)


def urls_for(route, pks: list[str]) -> Iterator[str]:
    fmt, params, _name = route
    choices = [NAMED_VALUES.get(param, pks) for param in params]
    for values in itertools.product(*choices):
        yield "/" + fmt % dict(zip(params, values, strict=True))


@pytest.fixture(autouse=True)
def _quiet_request_log():
    """Thousands of expected 404s and 403s would drown the output."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def world(
    compound_a, compound_b, secretary_a, secretary_b, district_staff, volunteer, medic
) -> dict:
    """Community A with history, tokens and login records; B's secretary with every admin
    permission, so the admin is walked with its pages open rather than refused."""
    compound_change_status(
        compound_id=compound_a.pk, to_status="sealed", reason=f"{MARKER} 阳性", user=secretary_a
    )
    Token.objects.create(user=secretary_a)
    AccessAttempt.objects.create(
        username=secretary_a.username, ip_address="10.0.0.1", failures_since_start=1
    )
    AccessLog.objects.create(username=secretary_a.username, ip_address="10.0.0.1")
    household = Household.objects.create(
        compound=compound_a, building=compound_a.buildings.first(), unit="1", room="101"
    )
    resident = resident_save(
        user=secretary_a,
        household=household,
        data={"name": f"{MARKER}张桂兰", "phone": "13893112345", "notes": MARKER},
        national_id=make_id(1, "19500312", female=True),
    )
    resident_tag_set(user=secretary_a, resident=resident, category="chronic", details=MARKER)
    resident_reveal(user=secretary_a, resident=resident)
    ImportJob.objects.create(
        user=secretary_a,
        community=compound_a.community,
        compound=compound_a,
        filename=f"{MARKER}.xlsx",
        path="/nonexistent",
        state="checked",
        report={"total_rows": 1, "errors": [{"row": 3, "column": MARKER, "message": MARKER}]},
    )
    secretary_b.user_permissions.set(Permission.objects.all())
    return {"compound_a": compound_a, "resident_a": resident}


def snapshot_of_a(compound_a) -> tuple:
    compound = Compound.objects.get(pk=compound_a.pk)
    return (
        compound.status,
        compound.name,
        sorted(Building.objects.filter(compound=compound).values_list("id", "name")),
        StatusChange.objects.filter(compound=compound).count(),
        sorted(
            Resident.objects.filter(compound=compound).values_list(
                "id", "name", "phone", "id_hash", "household_id", "notes"
            )
        ),
        sorted(VulnerableTag.objects.values_list("id", "category", "details")),
        sorted(Household.objects.values_list("id", "building_id", "unit", "room")),
        sorted(ImportJob.objects.values_list("id", "state")),
    )


def test_the_walk_finds_the_pages():
    names = {name for _fmt, _params, name in all_routes()}
    for expected in ("compounds:list", "compounds:detail", "dashboards:area", "compound-detail"):
        assert expected in names


def test_outsider_sees_nothing_of_community_a(client, world, secretary_b):
    pks = every_pk()
    before = snapshot_of_a(world["compound_a"])
    leaks, walked = [], 0
    for route in all_routes():
        for url in urls_for(route, pks):
            for method in ("get", "post"):
                client.force_login(secretary_b)
                response = getattr(client, method)(url)
                walked += 1
                body = b"" if response.streaming else response.content
                location = response.headers.get("Location", "")
                if MARKER.encode() in body or MARKER in location:
                    leaks.append(f"{method.upper()} {url} → {response.status_code}")
    assert walked > 200
    assert not leaks, "community A's data reached community B:\n" + "\n".join(leaks)
    assert snapshot_of_a(world["compound_a"]) == before


def test_insider_walk_does_see_community_a(client, world, secretary_a):
    """The same walk as A's secretary finds the marker: the outsider walk can fail."""
    pks = every_pk()
    client.force_login(secretary_a)
    seen = [
        url
        for route in all_routes()
        if route[2]
        in (
            "compounds:detail",
            "compound-detail",
            "compounds:list",
            "residents:detail",
            "resident-detail",
            "residents:import_job",
        )
        for url in urls_for(route, pks)
        if MARKER.encode() in client.get(url).content
    ]
    assert any(url.startswith("/compounds/") for url in seen)
    assert any(url.startswith("/residents/") for url in seen)
    assert any(url.startswith("/api/residents/") for url in seen)


def test_anonymous_is_sent_to_login(client, world):
    pks = every_pk()
    problems = []
    for route in all_routes():
        if route[2] in PUBLIC:
            continue
        for url in urls_for(route, pks):
            response = client.get(url)
            location = response.headers.get("Location", "")
            if MARKER.encode() in response.content:
                problems.append(f"{url} shows community A's data")
            elif response.status_code in (301, 302):
                if "login" not in location and not location.startswith("/admin/"):
                    problems.append(f"{url} redirects to {location}")
            elif response.status_code not in (401, 403, 404, 405):
                problems.append(f"{url} → {response.status_code}")
    assert not problems, "\n".join(problems)
