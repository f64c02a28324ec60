"""Bulk writes leave the tables they filled or emptied analysed (PostgreSQL): statistics that
say "empty" over pages full of rows had the COMMIT's foreign-key checks scan the table."""

import datetime

import pytest
from axes.models import AccessLog
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import access_logs_purge
from volunteers import services as volunteer_services
from volunteers.models import Shift
from wuyi.lib import pgcopy

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ANALYZE and pg_class are PostgreSQL's"
)


def _analyzed(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]


def _reltuples(table: str) -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cur.fetchone()[0]


def test_a_purge_of_most_rows_analyzes_a_few_does_not(db):
    old = timezone.now() - datetime.timedelta(days=200)
    AccessLog.objects.bulk_create(
        [AccessLog(username=f"u{n}", ip_address="127.0.0.1") for n in range(120)]
    )
    AccessLog.objects.filter(username__in=[f"u{n}" for n in range(100)]).update(attempt_time=old)
    with connection.cursor() as cur:
        cur.execute("ANALYZE axes_accesslog")
    assert _reltuples("axes_accesslog") == 120
    with CaptureQueriesContext(connection) as queries:
        assert access_logs_purge(older_than_days=90) == 100
    assert _analyzed(queries) == ['ANALYZE "axes_accesslog"']
    assert _reltuples("axes_accesslog") == 20
    # A handful deleted out of many: autovacuum's own threshold (50 + 10 %) is not reached.
    AccessLog.objects.filter(username="u100").update(attempt_time=old)
    with CaptureQueriesContext(connection) as queries:
        assert access_logs_purge(older_than_days=90) == 1
    assert _analyzed(queries) == []


def test_a_week_of_shifts_into_a_table_thought_empty_is_analyzed(secretary_a, compound_a):
    templates = [
        volunteer_services.shift_template_save(
            by=secretary_a,
            compound=compound_a,
            name=name,
            starts=datetime.time(start),
            ends=datetime.time(start + 2),
        )
        for name, start in (("门岗", 8), ("配送", 14))
    ]
    with connection.cursor() as cur:
        cur.execute("ANALYZE volunteers_shift")
    first = timezone.localdate()
    last = first + datetime.timedelta(days=6)
    with CaptureQueriesContext(connection) as queries:
        volunteer_services.shifts_apply(by=secretary_a, templates=templates, first=first, last=last)
    assert _analyzed(queries) == ['ANALYZE "volunteers_shift"']
    assert _reltuples("volunteers_shift") == 14
    # Statistics that already count them: nothing to do.
    assert pgcopy.analyze_if_stale({Shift: 14}) == []


def test_nothing_is_analyzed_for_nothing_written(db):
    assert pgcopy.analyze_if_stale({Shift: 0}) == []
    assert pgcopy.analyze_after_delete({AccessLog: 0}) == []
