"""The dashboards' reads on a read replica (wuyi/replica.py, DATABASE_REPLICA_URL): unset, all
on default; set (here: a second alias onto the same database, as a replica that is never
behind), the district views' GETs read there and nothing else does."""

import copy

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compounds.models import Compound
from tests.ops.test_settings import settings_with
from wuyi.replica import (
    REPLICA,
    ReplicaRouter,
    reading_connection,
    replica_configured,
    replica_reads,
)


@pytest.fixture
def replica(transactional_db):
    """A second alias onto the test database (transactional: what a test writes is committed,
    so the other connection sees it, as a replica would)."""
    config = copy.deepcopy(connections["default"].settings_dict)
    connections.settings[REPLICA] = config
    # Connected here, past the test case's guard against aliases it was not told of (it
    # refuses to open a connection, not to use one that is open).
    connections[REPLICA].connect()
    try:
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections.settings[REPLICA]
        if hasattr(connections._connections, REPLICA):
            delattr(connections._connections, REPLICA)


def test_the_setting_unset_is_one_database():
    found = settings_with({}, "DATABASES", "DATABASE_ROUTERS")
    assert list(found["DATABASES"]) == ["default"]
    assert found["DATABASE_ROUTERS"] == ["wuyi.replica.ReplicaRouter"]


def test_the_setting_set_adds_the_replica_mirrored_in_tests():
    url = "postgres://reader@standby.internal:5432/wuyi"
    found = settings_with({"DATABASE_REPLICA_URL": url}, "DATABASES")["DATABASES"]
    assert list(found) == ["default", "replica"]
    assert found["replica"]["HOST"] == "standby.internal"
    assert found["replica"]["USER"] == "reader"
    assert found["replica"]["TEST"] == {"MIRROR": "default"}


def test_without_a_replica_the_dashboards_read_on_default(db, login, district_staff, compound_a):
    assert not replica_configured()
    with replica_reads():
        assert ReplicaRouter().db_for_read(Compound) is None
        assert reading_connection() is connections["default"]
    client = login(district_staff)
    with CaptureQueriesContext(connections["default"]) as on_default:
        response = client.get(reverse("dashboards:overview"), follow=True)
    assert response.status_code == 200
    assert any("compounds_compound" in q["sql"] for q in on_default.captured_queries)


def test_with_a_replica_the_dashboards_read_there(replica, login, district_staff, compound_a):
    client = login(district_staff)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        response = client.get(reverse("dashboards:overview"), follow=True)
    assert response.status_code == 200
    assert compound_a.name in response.content.decode()  # read on the replica, all there
    assert any("compounds_compound" in q["sql"] for q in on_replica.captured_queries)
    # The user's postings too, whose SQL compounds writes itself (compounds.selectors).
    assert any("compounds_posting" in q["sql"] for q in on_replica.captured_queries)
    assert not any("compounds_posting" in q["sql"] for q in on_default.captured_queries)
    # The page's reads are the replica's (a provider's raw SQL reads where its cursor is:
    # wuyi.replica.reading_connection).
    assert len(on_replica.captured_queries) > len(on_default.captured_queries)


def test_raw_sql_finds_the_replica_through_reading_connection(replica):
    assert reading_connection() is connections["default"]
    with replica_reads():
        assert reading_connection() is replica
        with reading_connection().cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)


def test_with_a_replica_the_overview_api_reads_there(replica, login, district_staff, compound_a):
    client = login(district_staff)
    with CaptureQueriesContext(replica) as on_replica:
        response = client.get(reverse("overview-api"))
    assert response.status_code == 200
    assert on_replica.captured_queries


def test_with_a_replica_other_pages_and_writes_stay_on_default(
    replica, login, secretary_a, compound_a
):
    client = login(secretary_a)
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get(reverse("residents:list")).status_code == 200
    assert on_replica.captured_queries == []
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(Compound) == REPLICA
        assert router.db_for_write(Compound) is None  # default
    assert router.db_for_read(Compound) is None
    assert router.allow_migrate(REPLICA, "compounds") is False
    assert router.allow_migrate("default", "compounds") is None


def test_an_outsider_is_refused_on_the_replica_as_on_default(replica, login, volunteer):
    """The reach rules are the same reads, wherever they run: no dashboard for a volunteer."""
    client = login(volunteer)
    response = client.get(reverse("dashboards:overview"))
    assert response.status_code == 403


def test_the_median_delivery_time_reads_on_the_replica(replica, compound_a):
    """supplies' median from order to delivery is raw SQL (percentile_cont): inside a marked
    request it runs on the replica's connection, compiled for it, like the ORM's reads."""
    import datetime

    from django.utils import timezone

    from dashboards.selectors import places_under
    from supplies.plugins import _delivery_hours
    from tests.factories import OrderFactory

    now = timezone.now()
    for hours in (2, 4, 6):
        OrderFactory(
            compound=compound_a,
            status="delivered",
            submitted_at=now - datetime.timedelta(hours=hours + 1),
            delivered_at=now - datetime.timedelta(hours=1),
        )
    places = places_under(None, "compound", compound_a.pk)
    day = places.day
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
        replica_reads(),
    ):
        overall, per_day = _delivery_hours(places, day - datetime.timedelta(days=6), day)
    assert overall == pytest.approx(4.0)
    assert sum(per_day.values()) == pytest.approx(4.0)
    assert [q for q in on_replica.captured_queries if "percentile_cont" in q["sql"]]
    assert not [q for q in on_default.captured_queries if "percentile_cont" in q["sql"]]
    # Unmarked (any other page): on default.
    with CaptureQueriesContext(connections["default"]) as unmarked:
        assert _delivery_hours(places, day - datetime.timedelta(days=6), day)[0] == (
            pytest.approx(4.0)
        )
    assert [q for q in unmarked.captured_queries if "percentile_cont" in q["sql"]]
