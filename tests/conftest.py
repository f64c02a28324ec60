"""Role fixtures in the Healthchecks manner: one user per role, bound to a small place tree.

Community A and community B sit in the same sub-district of one district, so district staff
see both and each secretary sees only their own. Everything in community A carries the marker
ALPHA in its name: a page that shows ALPHA to an outsider leaks.
"""

import datetime
import os
import zoneinfo

import pytest

# Tests run with DEBUG off, where personal data needs its own key (wuyi.lib.pii).
os.environ.setdefault("WUYI_PII_KEY", "wuyi-tests-only-not-a-real-key")

from django.core.servers.basehttp import WSGIRequestHandler

from accounts.models import Role
from tests.factories import (
    BuildingFactory,
    CommunityFactory,
    CompoundFactory,
    DistrictFactory,
    SubdistrictFactory,
    UserFactory,
)

MARKER = "ALPHA"

# The live server (browser tests, the API schema pass) writes a response's headers and body in
# two sends; with Nagle's algorithm the second waits for the client's delayed ACK, about 40 ms
# a request on a kept-alive connection: most of the schema pass's five minutes were that wait.
WSGIRequestHandler.disable_nagle_algorithm = True


def _cache_of_this_run() -> None:
    """Keys of this run and this xdist worker only: the workers' databases number their rows
    alike, and so does the next run's (make test-clock after make test), while Redis is one and
    keeps counts per compound id for 15 minutes (compounds.figures). Set before any cache is
    made."""
    import uuid

    from django.conf import settings

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    default = settings.CACHES["default"]
    default["KEY_PREFIX"] = f"{default.get('KEY_PREFIX', '')}:test-{run[:12]}-{worker}"


_cache_of_this_run()


def _no_dispatch_on_send() -> None:
    """A test that writes an SMS runs the dispatcher itself, when it wants to: a dispatch queued
    on commit would lie in the shared broker for another test's worker to run against its
    database (tests/messaging/test_dispatch_soon.py turns it on)."""
    from django.conf import settings

    settings.WUYI_SMS_DISPATCH_ON_SEND = False


_no_dispatch_on_send()

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def chosen_instants() -> list[datetime.datetime]:
    """The instants WUYI_TEST_NOW asks the tests to start at (ISO 8601, comma-separated;
    without an offset, Shanghai time); none: the real clock. `make test-clock` sets two."""
    instants = []
    for value in os.environ.get("WUYI_TEST_NOW", "").split(","):
        if not value.strip():
            continue
        try:
            instant = datetime.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise pytest.UsageError(
                f"WUYI_TEST_NOW: {value.strip()!r} is not an ISO 8601 instant such as "
                "2026-12-03T23:58:00+08:00"
            ) from exc
        instants.append(instant if instant.tzinfo else instant.replace(tzinfo=SHANGHAI))
    return instants


def _shown(instant: datetime.datetime) -> str:
    return (
        f"{instant.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} Asia/Shanghai = "
        f"{instant.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"
    )


def pytest_report_header(config):
    instants = chosen_instants()
    if not instants:
        return "clock: real (WUYI_TEST_NOW=2026-12-03T23:58:00+08:00 starts every test then)"
    return [f"clock: every test starts at {_shown(i)}, ticking" for i in instants]


def pytest_generate_tests(metafunc):
    """With several instants in WUYI_TEST_NOW each test runs once at each (its id says when)."""
    instants = chosen_instants()
    if (
        len(instants) > 1
        and "_test_now" in metafunc.fixturenames
        and not metafunc.definition.get_closest_marker("real_clock")
    ):
        metafunc.parametrize(
            "_test_now",
            instants,
            indirect=True,
            ids=[f"at {i.astimezone(SHANGHAI):%H:%M} Shanghai" for i in instants],
        )


@pytest.fixture
def _test_now(request) -> datetime.datetime | None:
    """The instant this test starts at (WUYI_TEST_NOW), or None."""
    if hasattr(request, "param"):
        return request.param
    instants = chosen_instants()
    return instants[0] if instants else None


@pytest.fixture(autouse=True)
def _clock_at_test_now(request, _test_now):
    """With WUYI_TEST_NOW set, each test starts at that instant and the clock ticks on from
    there. A test that freezes its own clock (time_machine.travel inside) still gets its own
    instant: time-machine's travels nest, and leaving the inner one comes back here. A test
    marked real_clock (a Celery worker in another process shares its rows) keeps the real one."""
    if _test_now is None or request.node.get_closest_marker("real_clock"):
        yield
        return
    import time_machine

    with time_machine.travel(_test_now, tick=True):
        yield


def _transactional(node) -> bool:
    marker = node.get_closest_marker("django_db")
    names = set(getattr(node, "fixturenames", ()))
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"}
    )


def _uses_db(node) -> bool:
    return bool(node.get_closest_marker("django_db")) or "db" in getattr(node, "fixturenames", ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Django's order again, after pytest's own regrouping of tests that share a parametrized
    session fixture (Playwright's browser) moved browser tests among the others: tests in a
    transaction first, then the transactional ones (each ends by emptying every table), then
    those without a database. A stable sort: the regrouping holds within each part.
    The API schema walk (about 5 minutes a role) goes first, beside the rest on the other
    workers, not last on its own; the tests in a transaction after it get the migrated rows
    back (_restore_migrated_rows)."""

    def order(item) -> int:
        if item.nodeid.startswith(LONG_POLES):
            return -1
        return 1 if _transactional(item) else 0 if _uses_db(item) else 2

    items.sort(key=order)


LONG_POLES = ("tests/test_api_schema.py::test_the_api_answers_as_documented",)


@pytest.fixture(scope="session")
def _migrated_rows(django_db_setup, django_db_blocker):
    """The rows the project's data migrations wrote (the SMS texts each app sends), read once
    from the fresh test database."""
    from django.apps import apps
    from django.conf import settings

    ours = [
        c
        for c in apps.get_app_configs()
        if c.path.startswith(str(settings.BASE_DIR)) and "site-packages" not in c.path
    ]
    with django_db_blocker.unblock():
        return [
            (model, rows)
            for config in ours
            for model in config.get_models()
            if (rows := list(model._base_manager.all()))
        ]


_flushed = False  # a transactional test ran in this process: its teardown emptied every table


@pytest.fixture(autouse=True)
def _restore_migrated_rows(request):
    """Every test starts with what the data migrations wrote, though the flush after a
    transactional test emptied every table. A transactional test writes them back for good
    (serialized_rollback would do it, but Playwright's event loop in the test thread hands
    Django another connection object, without the snapshot); a test in a transaction that
    runs after one (pytest-django does not always order them first: the browser tests came
    before the campaign's) writes them inside its own transaction, rolled back with it."""
    global _flushed
    node = request.node
    if _transactional(node):
        request.getfixturevalue("transactional_db")
        _flushed = True
    elif _flushed and _uses_db(node):
        request.getfixturevalue("db")
    else:
        return
    for model, rows in request.getfixturevalue("_migrated_rows"):
        model._base_manager.bulk_create(rows, ignore_conflicts=True)


@pytest.fixture(autouse=True, scope="session")
def _personal_data_key():
    """The settings were read before this module (pytest-django sets Django up first): give
    them the tests' key too, before anything is encrypted."""
    from django.conf import settings

    from wuyi.lib import pii

    if not settings.WUYI_PII_KEY:
        settings.WUYI_PII_KEY = os.environ["WUYI_PII_KEY"]
        for cached in (pii._fernets, pii._multi, pii._hash_key):
            cached.cache_clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _board_made_each_time(settings):
    """The overview's board made on every request: a test that changes something and looks
    again sees it (tests/dashboards/test_board_cache.py turns the cache on)."""
    settings.WUYI_BOARD_SECONDS = 0


@pytest.fixture
def district(db):
    return DistrictFactory(code="620102", name="城关区")


@pytest.fixture
def subdistrict(district):
    return SubdistrictFactory(district=district, code="620102001", name="团结新村街道")


@pytest.fixture
def community_a(subdistrict):
    return CommunityFactory(subdistrict=subdistrict, code="620102001001", name=f"{MARKER}社区")


@pytest.fixture
def community_b(subdistrict):
    return CommunityFactory(subdistrict=subdistrict, code="620102001002", name="民勤街社区")


@pytest.fixture
def compound_a(community_a):
    compound = CompoundFactory(community=community_a, code="A-01", name=f"{MARKER}天庆丽舍")
    BuildingFactory(compound=compound, number="1", name=f"{MARKER}1号楼")
    BuildingFactory(compound=compound, number="2", name=f"{MARKER}2号楼")
    return compound


@pytest.fixture
def compound_b(community_b):
    compound = CompoundFactory(community=community_b, code="B-01", name="民勤街小区")
    BuildingFactory(compound=compound, number="1", name="1号楼")
    return compound


@pytest.fixture
def secretary_a(community_a):
    return UserFactory(
        username=f"{MARKER}_sec_a", role=Role.SECRETARY, posted_to=community_a, is_staff=True
    )


@pytest.fixture
def secretary_b(community_b):
    return UserFactory(username="sec_b", role=Role.SECRETARY, posted_to=community_b, is_staff=True)


@pytest.fixture
def district_staff(district):
    return UserFactory(username="dist", role=Role.DISTRICT_STAFF, posted_to=district)


@pytest.fixture
def volunteer(compound_a):
    return UserFactory(username="vol", role=Role.VOLUNTEER, posted_to=compound_a)


@pytest.fixture
def medic(compound_a):
    return UserFactory(username="medic", role=Role.MEDIC, posted_to=compound_a)


@pytest.fixture
def anonymous(client):
    return client


@pytest.fixture
def login(client):
    """login(user) -> a client logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def sms_outbox(settings, db):
    """The locmem SMS backend, no quiet hours, no rate limit: the list of what was sent."""
    from messaging.backends.simple import outbox

    settings.WUYI_SMS_BACKEND = "locmem"
    settings.WUYI_SMS_QUIET_HOURS = ""
    settings.WUYI_SMS_RATE_LIMIT = 0
    outbox.clear()
    yield outbox
    outbox.clear()


def send_queued():
    """Dispatch what is due, each batch sent at once in this process."""
    from messaging import outbox

    return outbox.dispatch(publish=lambda batch_id: outbox.batch_send(batch_id=batch_id))
