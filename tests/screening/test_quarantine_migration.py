"""The register's old quarantine fields become screening's records (screening 0003), then go
(residents 0011); backwards, the fields get each person's latest record again."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("residents", "0010_history_keeps_no_personal_values"),
    ("screening", "0002_sms_template"),
]
AFTER = [
    ("residents", "0011_quarantine_moved_to_screening"),
    ("screening", "0003_quarantine_from_the_register"),
]
NOW = datetime.datetime(2026, 12, 1, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_schema():
    """Going back to BEFORE also unapplies every later migration (residents 0012 on); the next
    test on this worker needs them, so the schema ends at every app's latest migration."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_the_fields_are_copied_released_when_passed_and_back(compound_a):
    with time_machine.travel(NOW, tick=False):
        apps = _migrate(BEFORE)
        Household = apps.get_model("residents", "Household")
        Resident = apps.get_model("residents", "Resident")
        building = apps.get_model("compounds", "Building").objects.filter(compound_id=compound_a.pk)
        home = Household.objects.create(
            compound_id=compound_a.pk, building=building.first(), unit="1", room="101"
        )

        def person(name, **fields):
            return Resident.objects.create(
                household=home,
                compound_id=compound_a.pk,
                community_id=compound_a.community_id,
                name=name,
                **fields,
            ).pk

        day = datetime.date
        ids = {
            "open": person("甲", quarantine="close", quarantine_from=day(2026, 11, 28)),
            "passed": person(
                "乙",
                quarantine="home",
                quarantine_from=day(2026, 11, 20),
                quarantine_until=day(2026, 11, 30),
            ),
            "last_day": person("丙", quarantine="secondary", quarantine_until=day(2026, 12, 1)),
            "none": person("丁"),
        }
        apps = _migrate(AFTER)
        Quarantine = apps.get_model("screening", "Quarantine")
        records = {
            r.resident_id: r for r in Quarantine.objects.filter(resident_id__in=ids.values())
        }
        assert set(records) == {ids["open"], ids["passed"], ids["last_day"]}
        opened = records[ids["open"]]
        assert (opened.kind, opened.place, opened.starts_on) == ("close", "home", day(2026, 11, 28))
        assert opened.ends_on == day(2026, 12, 12) and opened.released_at is None
        passed = records[ids["passed"]]
        assert passed.kind == "isolation" and passed.ends_on == day(2026, 11, 30)
        # Released at the end of its last day in Lanzhou: 16:00 UTC.
        assert passed.released_at == datetime.datetime(2026, 11, 30, 16, 0, tzinfo=datetime.UTC)
        last_day = records[ids["last_day"]]
        assert last_day.released_at is None and last_day.starts_on == day(2026, 11, 17)

        apps = _migrate(BEFORE)
        Resident = apps.get_model("residents", "Resident")
        back = {
            r.pk: (r.quarantine, r.quarantine_from, r.quarantine_until)
            for r in Resident.objects.filter(pk__in=ids.values())
        }
        assert back[ids["passed"]] == ("home", day(2026, 11, 20), day(2026, 11, 30))
        assert back[ids["open"]] == ("close", day(2026, 11, 28), day(2026, 12, 12))
        assert back[ids["none"]] == ("", None, None)
        # Forward again: nothing copied twice.
        apps = _migrate(AFTER)
        assert apps.get_model("screening", "Quarantine").objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_the_schema_is_whole_again_after_the_round_trip(compound_a):
    """Runs after the test above in the same module: the tables of later migrations exist."""
    from residents.models import HouseholdLink

    assert HouseholdLink.objects.count() == 0
