"""Recurring schedules: refused without weekdays or outside, booked exactly once, paused
and ended, rebooked when changed, the command and the task."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from medical import rules, services
from medical.models import Escort, Schedule
from tests.factories import (
    EscortFactory,
    ResidentFactory,
)
from tests.medical.helpers import MORNING, TOMORROW_0730, _dialysis
from wuyi.lib.errors import Refused


def test_a_schedule_with_no_weekdays_is_refused(clock, secretary_a, zhang, hospital):
    for weekdays in ([], "", None, ["八"]):
        with pytest.raises(Refused) as refused:
            _dialysis(secretary_a, zhang, hospital, weekdays=weekdays)
        assert refused.value.errors.get("weekdays")
    assert not Schedule.objects.exists()
    assert rules.clean_weekdays("一、三、五") == [0, 2, 4]


def test_a_schedule_for_a_resident_outside_is_refused(clock, secretary_b, zhang, hospital):
    with pytest.raises(Refused) as refused:
        _dialysis(secretary_b, zhang, hospital)
    assert "resident" in refused.value.errors
    assert not Schedule.objects.exists()


def test_schedules_sharing_an_ambulance_at_the_same_time_are_refused(
    clock, secretary_a, zhang, sealed, hospital, cars
):
    _dialysis(secretary_a, zhang, hospital, ambulance=cars[0])
    other = ResidentFactory(compound=sealed, name="王秀英")
    with pytest.raises(Refused) as refused:
        _dialysis(secretary_a, other, hospital, weekdays=[2], time="09:00", ambulance=cars[0])
    assert "张建国" in str(refused.value.message)
    _dialysis(secretary_a, other, hospital, weekdays=[1, 3], ambulance=cars[0])


def test_a_schedule_books_next_weeks_escorts_exactly_once(
    clock, secretary_a, zhang, hospital, cars
):
    schedule = _dialysis(secretary_a, zhang, hospital, ambulance=cars[0])
    first = services.escorts_book(days=7)
    # Tue 1 Dec 10:00: Wed 2, Fri 4, Mon 7 December.
    days = sorted(Escort.objects.values_list("schedule_date", flat=True))
    assert days == [datetime.date(2026, 12, d) for d in (2, 4, 7)]
    assert (first.created, first.existed) == (3, 0)
    escort = Escort.objects.get(schedule_date=datetime.date(2026, 12, 2))
    assert escort.scheduled_at == TOMORROW_0730 and escort.status == "scheduled"
    assert escort.ambulance == cars[0] and escort.hospital == hospital
    # Its history is read from when the job made it, and kept from its first change on.
    assert [s["status"] for s in services.history(escort)] == ["requested", "scheduled"]
    assert services.history(escort)[0]["by_name"] == "自动预约"
    escort = services.escort_advance(by=secretary_a, escort=escort, to="cancelled")
    assert [s["status"] for s in escort.steps] == ["requested", "scheduled", "cancelled"]
    assert (services.escorts_book(days=7).created, services.escorts_book(days=7).existed) == (0, 3)
    # Friday 10:00 (the job was down meanwhile): Friday's pickup is gone by, Monday's exists,
    # only Wednesday 9 December is new.
    clock.move_to(MORNING + datetime.timedelta(days=3))
    again = services.escorts_book(days=7)
    assert (again.created, again.existed, again.past) == (1, 1, 1)
    assert Escort.objects.filter(schedule=schedule).count() == 4
    # The constraint itself refuses a second escort for a day, not only the job's check.
    with pytest.raises(IntegrityError), transaction.atomic():
        EscortFactory(resident=zhang, schedule=schedule, schedule_date=datetime.date(2026, 12, 9))


def test_paused_and_ended_schedules_book_nothing_and_cancel_what_is_ahead(
    clock, secretary_a, zhang, hospital
):
    schedule = _dialysis(secretary_a, zhang, hospital)
    services.escorts_book(days=7)
    # The secretary cancels Friday herself (the patient is in hospital).
    friday = Escort.objects.get(schedule_date=datetime.date(2026, 12, 4))
    services.escort_advance(by=secretary_a, escort=friday, to="cancelled")
    services.schedule_set_status(by=secretary_a, schedule=schedule, status="paused")
    assert set(Escort.objects.values_list("status", flat=True)) == {"cancelled"}
    assert services.escorts_book(days=7).created == 0
    # Resumed: the days the pause cancelled are booked again at once; Friday stays cancelled.
    services.schedule_set_status(by=secretary_a, schedule=schedule, status="active")
    assert dict(Escort.objects.values_list("schedule_date__day", "status")) == {
        2: "requested",
        4: "cancelled",
        7: "requested",
    }
    assert services.escorts_book(days=7).created == 0
    services.schedule_set_status(by=secretary_a, schedule=schedule, status="ended")
    with pytest.raises(Refused):
        services.schedule_set_status(by=secretary_a, schedule=schedule, status="active")
    assert services.escorts_book(days=14).created == 0
    assert not Escort.objects.exclude(status="cancelled").exists()


def test_a_resident_who_left_is_not_fetched(clock, secretary_a, zhang, hospital):
    from residents.models import Resident

    _dialysis(secretary_a, zhang, hospital)
    Resident.objects.filter(pk=zhang.pk).update(left_on=MORNING.date(), left_reason="moved")
    assert services.escorts_book(days=7).created == 0


def test_book_escorts_command_last_line(clock, secretary_a, zhang, hospital):
    _dialysis(secretary_a, zhang, hospital)
    out = io.StringIO()
    call_command("book_escorts", "--days", "7", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "created 3 escorts, 0 already booked"
    out = io.StringIO()
    call_command("book_escorts", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "created 0 escorts, 3 already booked"


def test_the_celery_task_books(clock, secretary_a, zhang, hospital):
    from medical.tasks import book_escorts

    _dialysis(secretary_a, zhang, hospital)
    assert book_escorts.apply().get() == "created 3 escorts, 0 already booked"


def test_changing_a_schedule_rebooks_its_coming_escorts(
    clock, login, secretary_a, zhang, sealed, hospital
):
    schedule = _dialysis(secretary_a, zhang, hospital)
    services.escorts_book(days=7)
    client = login(secretary_a)
    assert client.get(reverse("medical:schedule_edit", args=[schedule.pk])).status_code == 200
    response = client.post(
        reverse("medical:schedule_edit", args=[schedule.pk]),
        {
            "resident": zhang.pk,
            "kind": "dialysis",
            "weekdays": ["1", "3"],
            "time": "08:15",
            "duration_minutes": 240,
            "hospital": hospital.pk,
            "start_date": "2026-12-01",
        },
    )
    assert response.status_code == 302
    booked = sorted(
        (e.schedule_date.day, timezone.localtime(e.scheduled_at).strftime("%H:%M"))
        for e in Escort.objects.filter(schedule=schedule)
    )
    # Wed 2, Fri 4 and Mon 7 at 07:30 are gone; within the week (1-7 December) Tue 1 08:15
    # has gone by at 10:00, so Thu 3 at 08:15 is booked.
    assert booked == [(3, "08:15")]
    assert services.escorts_book(days=7).created == 0
    # A change of the notes alone leaves the booked escorts as they are.
    ids = set(Escort.objects.values_list("pk", flat=True))
    schedule.refresh_from_db()
    services.schedule_save(
        by=secretary_a,
        schedule=schedule,
        resident=zhang,
        kind="dialysis",
        weekdays=[1, 3],
        time=datetime.time(8, 15),
        hospital=hospital,
        start_date=datetime.date(2026, 12, 1),
        notes="带好透析记录本",
    )
    assert set(Escort.objects.values_list("pk", flat=True)) == ids
