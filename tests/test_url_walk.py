"""Walk every URL pattern of the project as an outsider and as an anonymous visitor.

Nothing here names a page or a model. Patterns are read from the resolver, and the data is
built from every model whose manager has ``visible_to``, each through its factory in
tests/factories.py (``<Model>Factory(compound=...)``, see that module): a page or a model added
tomorrow is walked without anyone editing this file, and a model with ``visible_to`` but no
factory fails the walk with its name.

Everything of community A carries the marker ALPHA. The secretary of community B, holding every
admin permission, must never see it, whatever the method, and her POSTs must change nothing A
sees. An anonymous visitor is sent to a login page or refused. An insider walk as A's secretary
must find the marker, so that the outsider walk can fail.

The walk is bounded: an id parameter takes the ids of A's rows (and a few of B's), an admin
object page only the ids of its own model, and the routes are split into groups that
pytest-xdist runs in parallel.
"""

import itertools
import logging
import re
from collections.abc import Iterator

import pytest
from axes.models import AccessAttempt, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from rest_framework.authtoken.models import Token

from compounds.models import Building, Community, Compound, District, Subdistrict
from compounds.services import compound_change_status
from residents.models import Household
from residents.services import resident_reveal, resident_save, resident_tag_set
from tests import factories
from tests.conftest import MARKER
from tests.residents.helpers import make_id

# Named parameters that are not ids, and the values their views accept.
NAMED_VALUES = {
    "format": ["json"],
    "level": ["district", "subdistrict", "community"],
    "url": ["x"],  # the admin's catch-all
    "app_label": ["compounds", "residents"],
}
# Pages an anonymous visitor may open: the ways in.
# The ways in (a one-time link is one: it shows a button, only its POST spends it).
PUBLIC = {
    "login",
    "set_language",
    "admin:login",
    "admin:jsi18n",
    "logout",
    "admin:logout",
    "volunteers:link",
    "supplies:self",
    "residents:household_link",  # the household's own link: the token is the way in
    "residents:household_action",  # its actions: the token, then the household's code
    "favicon",  # the site's icon, a public static file
    "healthz",  # up or not, per part: no login, no personal data
    "volunteers:service_worker",  # the offline today list's worker: code, no data
    "volunteers:manifest",  # the home-screen manifest: a name and icons
}
# The place tree is made by the fixtures (community A under the sub-district A and B share).
PLACE_TREE = {District, Subdistrict, Community, Compound, Building}
MAX_IDS = 24  # values tried per id parameter, beyond one row of every model
MAX_PAIRS = 6  # values per parameter when a route takes two ids
ADMIN_OBJECT = re.compile(r"^admin:(?P<app>[a-z_]+?)_(?P<model>[a-z]+)_(?P<view>\w+)$")


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


def group_of(route) -> str:
    fmt, _params, name = route
    if name.startswith("admin:"):
        match = ADMIN_OBJECT.match(name)
        return f"admin-{match['app']}" if match else "admin"
    return fmt.split("/")[0] or "root"


def route_groups() -> list[str]:
    return sorted({group_of(route) for route in all_routes()})


def scoped_models() -> list[type]:
    """Every model whose manager has visible_to."""
    return [
        model
        for model in apps.get_models()
        if hasattr(model._default_manager, "visible_to") and model not in PLACE_TREE
    ]


def factory_for(model):
    factory = getattr(factories, f"{model.__name__}Factory", None)
    if factory is None:
        pytest.fail(
            f"{model._meta.label} has visible_to but tests/factories.py has no "
            f"{model.__name__}Factory: the URL walk cannot put one in community A."
        )
    return factory


def _model_of_admin_route(name: str):
    match = ADMIN_OBJECT.match(name)
    if not match:
        return None
    try:
        return apps.get_model(match["app"], match["model"])
    except LookupError:
        return None


def as_user(client, user, method: str, url: str):
    """`method` `url` as `user`, logged in again only when the walk logged them out (a POST to
    a logout page, a password changed): a login per request was half the walk's time. A request
    that was answered to nobody is asked again, signed in."""
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is None or not cookie.value:
        client.force_login(user)
    response = getattr(client, method)(url)
    if response.wsgi_request.user != user:
        client.force_login(user)
        response = getattr(client, method)(url)
    return response


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
    """Community A with history, tokens, login records and one row of every scoped model
    (and B with one of each too); B's secretary with every admin permission, so the admin is
    walked with its pages open rather than refused."""
    compound_change_status(
        compound_id=compound_a.pk, to_status="sealed", reason=f"{MARKER} 阳性", by=secretary_a
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
        by=secretary_a,
        household=household,
        data={"name": f"{MARKER}张桂兰", "phone": "13893112345", "notes": MARKER},
        national_id=make_id(1, "19500312", female=True),
    )
    resident_tag_set(by=secretary_a, resident=resident, category="chronic", details=MARKER)
    resident_reveal(by=secretary_a, resident=resident)
    for model in scoped_models():
        factory = factory_for(model)
        factory(compound=compound_a)
        factory(compound=compound_b)
    secretary_b.user_permissions.set(Permission.objects.all())
    return {"compound_a": compound_a, "resident_a": resident}


def ids_of_a(secretary_a, secretary_b) -> dict[type, list[str]]:
    """{model: ids of rows A's secretary sees and B's does not}, for every scoped model."""
    found = {}
    for model in [*scoped_models(), *PLACE_TREE]:
        manager = model._default_manager
        mine = set(manager.visible_to(secretary_a).values_list("pk", flat=True))
        theirs = set(manager.visible_to(secretary_b).values_list("pk", flat=True))
        found[model] = sorted(str(pk) for pk in mine - theirs)
    return found


def id_values(secretary_a, secretary_b) -> tuple[list[str], dict[type, list[str]]]:
    """The values an id parameter takes: A's ids of every model (and two of B's rows)."""
    by_model = ids_of_a(secretary_a, secretary_b)
    theirs = Compound.objects.visible_to(secretary_b).values_list("pk", flat=True)[:2]
    # Round-robin over the models, so that every model's first row is tried however far apart
    # the sequences are (PostgreSQL does not rewind them when a test rolls back).
    columns = [[str(pk) for pk in theirs], *by_model.values()]
    ordered: list[str] = []
    for depth, row in enumerate(itertools.zip_longest(*columns)):
        if depth and len(ordered) >= MAX_IDS:
            break
        ordered.extend(pk for pk in dict.fromkeys(row) if pk is not None and pk not in ordered)
    return ordered, by_model


def urls_for(route, values: list[str], by_model: dict[type, list[str]]) -> Iterator[str]:
    fmt, params, name = route
    model = _model_of_admin_route(name)
    ids = by_model.get(model, values) if model is not None else values
    id_params = [p for p in params if p not in NAMED_VALUES]
    if len(id_params) > 1:
        ids = ids[:MAX_PAIRS]
    choices = [NAMED_VALUES.get(param, ids) for param in params]
    for chosen in itertools.product(*choices):
        yield "/" + fmt % dict(zip(params, chosen, strict=True))


def snapshot_of_a(secretary_a) -> dict:
    """Every row A's secretary sees, field by field."""
    snapshot = {}
    for model in [*scoped_models(), *PLACE_TREE]:
        fields = [f.attname for f in model._meta.concrete_fields]
        rows = model._default_manager.visible_to(secretary_a).values_list(*fields)
        snapshot[model._meta.label] = sorted(rows, key=repr)
    return snapshot


def test_the_walk_finds_the_pages():
    names = {name for _fmt, _params, name in all_routes()}
    for expected in ("compounds:list", "compounds:detail", "dashboards:area", "compound-detail"):
        assert expected in names


def test_every_scoped_model_has_a_factory():
    for model in scoped_models():
        factory_for(model)


@pytest.mark.parametrize("group", route_groups())
def test_outsider_sees_nothing_of_community_a(client, world, secretary_a, secretary_b, group):
    values, by_model = id_values(secretary_a, secretary_b)
    before = snapshot_of_a(secretary_a)
    leaks, walked = [], 0
    for route in all_routes():
        if group_of(route) != group:
            continue
        for url in urls_for(route, values, by_model):
            for method in ("get", "post"):
                response = as_user(client, secretary_b, method, url)
                walked += 1
                body = b"" if response.streaming else response.content
                location = response.headers.get("Location", "")
                if MARKER.encode() in body or MARKER in location:
                    leaks.append(f"{method.upper()} {url} → {response.status_code}")
    assert walked > 0
    assert not leaks, "community A's data reached community B:\n" + "\n".join(leaks)
    assert snapshot_of_a(secretary_a) == before


def test_insider_walk_does_see_community_a(client, world, secretary_a, secretary_b):
    """The same walk as A's secretary finds the marker: the outsider walk can fail."""
    values, by_model = id_values(secretary_a, secretary_b)
    secretary_a.user_permissions.set(Permission.objects.all())
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
            "admin:residents_resident_change",
        )
        for url in urls_for(route, values, by_model)
        if MARKER.encode() in client.get(url).content
    ]
    assert any(url.startswith("/compounds/") for url in seen)
    assert any(url.startswith("/residents/") for url in seen)
    assert any(url.startswith("/api/residents/") for url in seen)
    assert any(url.startswith("/admin/residents/resident/") for url in seen)


@pytest.mark.parametrize("group", route_groups())
def test_anonymous_is_sent_to_login(client, world, secretary_a, secretary_b, group):
    values, by_model = id_values(secretary_a, secretary_b)
    problems = []
    for route in all_routes():
        if route[2] in PUBLIC or group_of(route) != group:
            continue
        for url in urls_for(route, values, by_model):
            response = client.get(url)
            location = response.headers.get("Location", "")
            body = b"" if response.streaming else response.content
            if MARKER.encode() in body:
                problems.append(f"{url} shows community A's data")
            elif response.status_code in (301, 302):
                if "login" not in location and not location.startswith("/admin/"):
                    problems.append(f"{url} redirects to {location}")
            elif response.status_code not in (401, 403, 404, 405):
                problems.append(f"{url} → {response.status_code}")
    assert not problems, "\n".join(problems)


def register_routes() -> list[tuple[str, list[str], str]]:
    """The register's pages and API, found by name: residents:* and the resident and household
    API routes (a page added to residents/urls.py tomorrow is walked too)."""
    return [
        route
        for route in all_routes()
        if route[2].startswith(("residents:", "resident-", "household-"))
    ]


@pytest.mark.parametrize("role", ["volunteer", "medic"])
def test_field_roles_reach_no_register_page(client, world, secretary_a, secretary_b, role, request):
    """A volunteer sees residents only through their tasks; a medic reads the ledger of their
    compounds and calls from it. Every other page and API of the register answers them 404
    (an API write: 403, as documented), with A's ids, and shows nothing of A."""
    user = request.getfixturevalue(role)
    values, by_model = id_values(secretary_a, secretary_b)
    theirs = {"residents:call"} | ({"residents:ledger"} if role == "medic" else set())
    client.force_login(user)
    problems, walked = [], 0
    for route in register_routes():
        if route[2] in theirs:
            continue
        api = not route[2].startswith("residents:")
        for url in urls_for(route, values, by_model):
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                walked += 1
                body = b"" if response.streaming else response.content
                # 405: a page that takes no such method answers before it loads anything.
                expected = {404, 405} if method == "get" or not api else {403, 404, 405}
                if response.status_code not in expected or MARKER.encode() in body:
                    problems.append(f"{method.upper()} {url} → {response.status_code}")
    assert walked > 100
    assert not problems, f"a {role} reached the register:\n" + "\n".join(problems[:40])
