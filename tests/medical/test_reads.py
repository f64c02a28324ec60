"""Reads: coverage flags, statistics, the board's query count, today's tasks, the demo."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, User
from compounds.models import Compound, ControlStatus
from medical import selectors
from medical.models import Ambulance, Escort, Schedule
from messaging.models import SmsTemplate
from tests.factories import (
    AmbulanceFactory,
    EscortFactory,
    MedicalStaffFactory,
    ResidentFactory,
    UserFactory,
)
from tests.medical.helpers import MORNING, SHANGHAI, _book
from volunteers import registry


def test_coverage_flags_controlled_compounds_lacking_cover(
    clock, district_staff, sealed, compound_b, cars
):
    Compound.objects.filter(pk=compound_b.pk).update(status=ControlStatus.CONTROLLED)
    rows = {c.compound.pk: c for c in selectors.coverage(user=district_staff)}
    assert rows[sealed.pk].lacks_medic and not rows[sealed.pk].lacks_ambulances
    assert rows[compound_b.pk].lacks_medic and rows[compound_b.pk].lacks_ambulances
    MedicalStaffFactory(compound=sealed)
    assert not {c.compound.pk: c for c in selectors.coverage(user=district_staff)}[
        sealed.pk
    ].flagged


def test_statistics_answer_the_date_range_question(
    district_staff, secretary_a, zhang, sealed, compound_b, hospital, cars
):
    """How many emergency patients did the sealed compounds send to hospital between 26 and
    29 October?"""
    Compound.objects.filter(pk=compound_b.pk).update(status=ControlStatus.CONTROLLED)
    b_resident = ResidentFactory(compound=compound_b)

    def emergency(resident, day, hour, steps):
        at = datetime.datetime(2026, 10, day, hour, tzinfo=SHANGHAI)
        EscortFactory(
            resident=resident,
            kind="emergency",
            scheduled_at=at,
            expected_return_at=at + datetime.timedelta(hours=2),
            status=steps,
        )

    emergency(zhang, 25, 23, "returned")  # before the range (15:00 UTC on the 25th is local 23:00)
    emergency(zhang, 26, 0, "returned")  # first minute of the range, local time
    emergency(zhang, 27, 9, "admitted")
    emergency(zhang, 29, 23, "at_hospital")
    emergency(zhang, 28, 10, "cancelled")  # not sent
    emergency(zhang, 28, 11, "requested")  # reported, not (yet) at hospital
    emergency(b_resident, 27, 9, "returned")  # a controlled compound, not sealed
    emergency(zhang, 30, 1, "returned")  # after
    EscortFactory(
        resident=zhang,
        kind="dialysis",
        status="returned",
        scheduled_at=datetime.datetime(2026, 10, 27, 7, 30, tzinfo=SHANGHAI),
    )
    stats = selectors.statistics(
        user=district_staff,
        start=datetime.date(2026, 10, 26),
        end=datetime.date(2026, 10, 29),
        compound_status="sealed",
    )
    assert stats.by_kind["emergency"] == [4, 3]  # reported (not cancelled), reached hospital
    assert stats.by_kind["dialysis"] == [1, 1]
    assert [(d.day, n, r) for d, n, r in stats.emergencies_per_day] == [
        (26, 1, 1),
        (27, 1, 1),
        (28, 1, 0),
        (29, 1, 1),
    ]
    everything = selectors.statistics(
        user=district_staff, start=datetime.date(2026, 10, 26), end=datetime.date(2026, 10, 29)
    )
    assert everything.by_kind["emergency"] == [5, 4]
    # Secretary B sees only her compound's.
    mine = selectors.statistics(
        user=UserFactory(role=Role.SECRETARY, posted_to=compound_b.community),
        start=datetime.date(2026, 10, 26),
        end=datetime.date(2026, 10, 29),
    )
    assert mine.total == 1


def test_the_board_reads_in_constant_queries(clock, district_staff, medic, sealed, zhang, hospital):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = selectors.open_emergencies(user=district_staff)
            for e in rows:
                str(e.resident.name), str(e.compound.name), str(e.ambulance), str(e.hospital)
        return len(ctx.captured_queries)

    EscortFactory(
        resident=zhang,
        kind="emergency",
        symptom="胸痛",
        scheduled_at=MORNING,
        expected_return_at=MORNING + datetime.timedelta(hours=2),
        hospital=hospital,
    )
    count()  # the user's jurisdiction is read once and kept on the user
    one = count()
    for _ in range(10):
        EscortFactory(
            resident=ResidentFactory(compound=sealed),
            kind="emergency",
            scheduled_at=MORNING,
            expected_return_at=MORNING + datetime.timedelta(hours=2),
            ambulance=AmbulanceFactory(compound=sealed),
            hospital=hospital,
        )
    assert count() == one


def test_the_crews_jobs_are_in_todays_tasks(
    clock, secretary_a, zhang, hospital, cars, crew, doctor, medic
):
    escort = _book(
        secretary_a,
        zhang,
        hospital,
        at=MORNING + datetime.timedelta(hours=2),
        ambulance=cars[0],
        staff=doctor,
    )
    for user in (crew, medic):
        tasks = [t for t in registry.tasks_for(user, MORNING.date()) if t.key.startswith("escort:")]
        assert [t.key for t in tasks] == [f"escort:{escort.pk}"]
        assert "张建国" in tasks[0].title and tasks[0].done_url
    assert not [
        t for t in registry.tasks_for(secretary_a, MORNING.date()) if t.key.startswith("escort:")
    ]


@pytest.mark.django_db(transaction=False)
def test_seed_demo_gives_cover_a_dialysis_schedule_and_past_emergencies():
    from medical.models import Hospital

    call_command("seed_demo", stdout=io.StringIO())
    counts = (Escort.objects.count(), Ambulance.objects.count(), Schedule.objects.count())
    assert Hospital.objects.filter(short_name="市一院").exists()
    donghu = Compound.objects.get(name="东湖小区")
    schedule = Schedule.objects.get(compound=donghu)
    assert schedule.weekdays == [0, 2, 4] and schedule.time == datetime.time(7, 30)
    assert Ambulance.objects.filter(compound=donghu).count() == 2
    assert Escort.objects.filter(kind="emergency", status__in=["returned", "admitted"]).exists()
    assert SmsTemplate.objects.get(name="转运接送通知").approved
    district = UserFactory(role=Role.DISTRICT_STAFF, posted_to=donghu.district)
    assert any(c.flagged for c in selectors.coverage(user=district))
    secretary = User.objects.get(username="secretary")
    assert secretary.has_perm("medical.add_ambulance") and not secretary.has_perm(
        "medical.add_hospital"
    )
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        Escort.objects.count(),
        Ambulance.objects.count(),
        Schedule.objects.count(),
    ) == counts


def test_district_overview_flags_compounds_lacking_cover(login, district_staff, sealed, compound_b):
    AmbulanceFactory(compound=sealed)
    page = login(district_staff).get(reverse("dashboards:overview"), follow=True)
    gaps = page.content.decode()
    assert "medical-gaps" in gaps and sealed.name in gaps
    assert compound_b.name not in gaps.split('id="medical-gaps"')[1].split("</div>")[0]


def test_statistics_page_and_export_answer_with_one_click(login, district_staff, zhang, sealed):
    import openpyxl

    for day, status in ((26, "returned"), (27, "admitted"), (31, "returned")):
        at = datetime.datetime(2026, 10, day, 9, tzinfo=SHANGHAI)
        EscortFactory(
            resident=zhang,
            kind="emergency",
            status=status,
            scheduled_at=at,
            expected_return_at=at + datetime.timedelta(hours=2),
        )
    client = login(district_staff)
    query = "?start=2026-10-26&end=2026-10-29&compound_status=sealed"
    page = client.get(reverse("medical:statistics") + query).content.decode()
    by_kind = page.split('id="by-kind"')[1].split("</table>")[0]
    assert '<td>急救</td><td class="num">2</td><td class="num">2</td>' in by_kind
    response = client.get(reverse("medical:statistics") + query + "&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [sealed.name, 0, 0, 0, 2, 0, 2] in rows
    assert ["2026-10-27", 1, 1] in [list(r[:3]) for r in rows]
