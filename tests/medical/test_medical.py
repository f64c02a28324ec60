"""Medical support: escorts booked and moved along, recurring schedules booked once,
emergencies dispatched once, coverage flags, statistics, notifications, pages and the API."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from compounds.models import Compound, ControlStatus
from medical import rules, selectors, services
from medical.models import Ambulance, Escort, EscortStatus, Schedule
from messaging.models import SmsTemplate
from tests.factories import (
    AmbulanceFactory,
    CompoundFactory,
    EscortFactory,
    HospitalFactory,
    MedicalStaffFactory,
    ResidentFactory,
    UserFactory,
)
from volunteers import registry
from wuyi.lib.errors import Refused

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Tuesday morning in the outbreak: 10:00 in Lanzhou.
MORNING = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
TOMORROW_0730 = datetime.datetime(2026, 12, 2, 7, 30, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sealed(compound_a):
    Compound.objects.filter(pk=compound_a.pk).update(status=ControlStatus.SEALED)
    compound_a.refresh_from_db()
    return compound_a


@pytest.fixture
def hospital(district):
    return HospitalFactory(name="兰州市第一人民医院", short_name="市一院", districts=[district])


@pytest.fixture
def zhang(sealed):
    return ResidentFactory(compound=sealed, name="张建国", phone="13893100011")


@pytest.fixture
def crew(sealed):
    return UserFactory(username="crew", role=Role.VOLUNTEER, posted_to=sealed)


@pytest.fixture
def cars(sealed, crew):
    return [
        AmbulanceFactory(
            compound=sealed, plate="甘A12001", driver_phone="13893100021", crew=[crew]
        ),
        AmbulanceFactory(compound=sealed, plate="甘A12002", driver_phone="13893100022"),
    ]


@pytest.fixture
def doctor(sealed, medic):
    return MedicalStaffFactory(compound=sealed, name="李医生", user=medic, phone="13893100031")


@pytest.fixture
def approved():
    SmsTemplate.objects.filter(name__in=["转运接送通知", "转运任务通知"]).update(
        code="SMS_DEMO", approved=True
    )


def _book(secretary, resident, hospital, at=TOMORROW_0730, **kwargs):
    return services.escort_book(
        by=secretary,
        resident=resident,
        kind=kwargs.pop("kind", "dialysis"),
        hospital=hospital,
        scheduled_at=at,
        **kwargs,
    )


# ----------------------------------------------------------------------------- booking


def test_book_with_ambulance_is_scheduled_and_steps_record_who(
    clock, secretary_a, zhang, hospital, cars, doctor
):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0], staff=doctor)
    assert escort.status == EscortStatus.SCHEDULED
    assert escort.compound_id == zhang.compound_id
    # The crew goes up to the door: the room is in the pickup (issue 19).
    assert escort.pickup == f"1号楼1单元{zhang.household.room}"
    assert escort.expected_return_at - escort.scheduled_at == datetime.timedelta(hours=4)
    assert [s["status"] for s in escort.steps] == ["requested", "scheduled"]
    assert {s["by"] for s in escort.steps} == {secretary_a.pk}


def test_double_booking_an_ambulance_is_refused_naming_the_clash(
    clock, secretary_a, zhang, sealed, hospital, cars
):
    _book(secretary_a, zhang, hospital, ambulance=cars[0])
    other = ResidentFactory(compound=sealed, name="王秀英")
    before = Escort.objects.count()
    with pytest.raises(Refused) as refused:
        _book(
            secretary_a,
            other,
            hospital,
            at=TOMORROW_0730 + datetime.timedelta(hours=2),
            ambulance=cars[0],
        )
    message = str(refused.value.message)
    assert refused.value.field == "ambulance"
    assert "甘A12001" in message and "张建国" in message and "07:30" in message
    assert Escort.objects.count() == before
    # The other ambulance is free then; after the first job is back, the first is too.
    _book(
        secretary_a,
        other,
        hospital,
        at=TOMORROW_0730 + datetime.timedelta(hours=2),
        ambulance=cars[1],
    )
    _book(
        secretary_a,
        other,
        hospital,
        at=TOMORROW_0730 + datetime.timedelta(hours=4),
        ambulance=cars[0],
        duration_minutes=60,
    )


def test_double_booking_the_escort_staff_is_refused(
    clock, secretary_a, zhang, sealed, hospital, cars, doctor
):
    _book(secretary_a, zhang, hospital, ambulance=cars[0], staff=doctor)
    other = ResidentFactory(compound=sealed, name="王秀英")
    with pytest.raises(Refused) as refused:
        _book(secretary_a, other, hospital, ambulance=cars[1], staff=doctor)
    assert refused.value.field == "staff" and "李医生" in str(refused.value.message)


def test_the_past_is_refused_except_an_emergency_logged_after_the_fact(
    clock, secretary_a, zhang, hospital
):
    with pytest.raises(Refused) as refused:
        _book(secretary_a, zhang, hospital, at=MORNING - datetime.timedelta(hours=3))
    assert refused.value.field == "scheduled_at"
    assert not Escort.objects.exists()
    logged = services.emergency_report(
        by=secretary_a, resident=zhang, symptom="胸痛", at=MORNING - datetime.timedelta(hours=3)
    )
    assert logged.kind == "emergency" and logged.ambulance_id is None
    with pytest.raises(Refused):
        services.emergency_report(
            by=secretary_a, resident=zhang, symptom="胸痛", at=MORNING + datetime.timedelta(days=1)
        )


def test_a_resident_outside_the_jurisdiction_is_refused(clock, secretary_b, zhang, hospital):
    with pytest.raises(Refused) as refused:
        _book(secretary_b, zhang, hospital)
    assert refused.value.field == "resident"
    with pytest.raises(Refused):
        services.emergency_report(by=secretary_b, resident=zhang, symptom="胸痛")
    assert not Escort.objects.exists()


def test_only_the_secretary_books(clock, volunteer, district_staff, zhang, hospital):
    for user in (volunteer, district_staff):
        with pytest.raises(PermissionDenied):
            _book(user, zhang, hospital)
    assert not Escort.objects.exists()


def test_an_ambulance_of_another_compound_is_refused(
    clock, secretary_a, zhang, hospital, compound_b
):
    elsewhere = AmbulanceFactory(compound=compound_b, plate="甘A99999")
    with pytest.raises(Refused) as refused:
        _book(secretary_a, zhang, hospital, ambulance=elsewhere)
    assert refused.value.field == "ambulance"


# ----------------------------------------------------------------------------- steps


def test_steps_go_one_at_a_time_and_skips_are_refused(
    clock, secretary_a, zhang, hospital, cars, crew
):
    escort = _book(secretary_a, zhang, hospital)
    with pytest.raises(Refused) as refused:
        services.escort_advance(by=secretary_a, escort=escort, to="dispatched")
    assert refused.value.code == "transition"
    escort = services.escort_assign(by=secretary_a, escort=escort, ambulance=cars[0])
    with pytest.raises(Refused):
        services.escort_advance(by=crew, escort=escort, to="returned")
    escort.refresh_from_db()
    assert escort.status == "scheduled"
    clock.move_to(TOMORROW_0730)
    escort = services.escort_advance(by=crew, escort=escort, to="dispatched")
    assert Ambulance.objects.get(pk=cars[0].pk).status == "on_job"
    # A second tap of the same step changes nothing.
    services.escort_advance(by=crew, escort=escort, to="dispatched")
    escort = services.escort_advance(by=crew, escort=escort, to="at_hospital")
    escort = services.escort_advance(by=crew, escort=escort, to="returned", outcome="透析顺利")
    assert escort.outcome == "透析顺利" and escort.closed_at is not None
    assert [s["status"] for s in escort.steps] == [
        "requested",
        "scheduled",
        "dispatched",
        "at_hospital",
        "returned",
    ]
    assert escort.steps[-1]["by"] == crew.pk
    assert Ambulance.objects.get(pk=cars[0].pk).status == "available"
    with pytest.raises(Refused):
        services.escort_advance(by=crew, escort=escort, to="cancelled")


def test_outsiders_do_not_move_an_escort(clock, secretary_a, zhang, hospital, cars):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    stranger = UserFactory(username="stranger", role=Role.VOLUNTEER, posted_to=zhang.compound)
    with pytest.raises(PermissionDenied):
        services.escort_advance(by=stranger, escort=escort, to="dispatched")
    escort.refresh_from_db()
    assert escort.status == "scheduled"


# ----------------------------------------------------------------------------- emergencies


def test_emergency_dispatches_the_nearest_free_ambulance_once(
    clock, medic, zhang, sealed, hospital, cars, doctor
):
    neighbour = CompoundFactory(community=sealed.community, name="邻近小区")
    AmbulanceFactory(compound=neighbour, plate="甘A00001")  # nearer in plate order, farther away
    escort = services.emergency_report(by=medic, resident=zhang, symptom="呼吸困难")
    assert escort.status == "dispatched" and escort.ambulance.plate == "甘A12001"
    assert escort.hospital == hospital and escort.staff == doctor
    assert [s["status"] for s in escort.steps] == ["requested", "scheduled", "dispatched"]
    with pytest.raises(Refused) as refused:
        services.emergency_dispatch(by=medic, escort=escort)
    assert refused.value.code == "dispatched"
    assert Ambulance.objects.filter(status="on_job").count() == 1
    # The next one gets the second ambulance, the third the community's.
    other = ResidentFactory(compound=sealed, name="刘芳")
    assert (
        services.emergency_report(by=medic, resident=other, symptom="高烧").ambulance.plate
        == "甘A12002"
    )
    assert (
        services.emergency_report(by=medic, resident=other, symptom="摔伤").ambulance.plate
        == "甘A00001"
    )
    fourth = services.emergency_report(by=medic, resident=other, symptom="腹痛")
    assert fourth.status == "requested" and fourth.ambulance_id is None
    with pytest.raises(Refused) as refused:
        services.emergency_dispatch(by=medic, escort=fourth)
    assert refused.value.code == "none_free"
    # An ambulance back from its job is free again: the waiting emergency gets it.
    services.escort_advance(by=medic, escort=escort, to="at_hospital")
    services.escort_advance(by=medic, escort=escort, to="returned")
    assert services.emergency_dispatch(by=medic, escort=fourth).ambulance.plate == "甘A12001"


def test_emergency_skips_an_ambulance_booked_in_the_next_hours(
    clock, secretary_a, zhang, hospital, cars
):
    _book(
        secretary_a, zhang, hospital, at=MORNING + datetime.timedelta(minutes=30), ambulance=cars[0]
    )
    escort = services.emergency_report(by=secretary_a, resident=zhang, symptom="胸痛")
    assert escort.ambulance == cars[1]


def test_volunteers_do_not_report_emergencies(clock, volunteer, zhang):
    with pytest.raises(PermissionDenied):
        services.emergency_report(by=volunteer, resident=zhang, symptom="胸痛")


# ----------------------------------------------------------------------------- schedules


def _dialysis(secretary, resident, hospital, **kwargs):
    return services.schedule_save(
        by=secretary,
        resident=resident,
        kind="dialysis",
        weekdays=kwargs.pop("weekdays", [0, 2, 4]),
        time=kwargs.pop("time", "07:30"),
        hospital=hospital,
        start_date=kwargs.pop("start_date", MORNING.date()),
        **kwargs,
    )


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


# ----------------------------------------------------------------------------- notifications


def test_booking_tells_the_resident_family_and_crew_once(
    clock, secretary_a, zhang, hospital, cars, doctor, approved, django_capture_on_commit_callbacks
):
    from messaging.models import Recipient

    ResidentFactory(
        compound=zhang.compound, household=zhang.household, name="张丽", phone="13893100012"
    )
    with django_capture_on_commit_callbacks(execute=True):
        escort = _book(secretary_a, zhang, hospital, ambulance=cars[0], staff=doctor)
    phones = set(Recipient.objects.values_list("phone", flat=True))
    assert phones == {"13893100011", "13893100012", "13893100021", "13893100031"}
    services.escort_notify(escort=escort)
    assert Recipient.objects.count() == 4
    escort.refresh_from_db()
    assert escort.notified_at is not None


def test_booked_schedules_are_told_by_the_sweep_once(
    clock, secretary_a, zhang, hospital, cars, approved
):
    from messaging.models import Recipient

    _dialysis(secretary_a, zhang, hospital, ambulance=cars[0])
    services.escorts_book(days=7)
    assert services.escorts_notify_due() == 2  # tomorrow's: resident and driver
    assert services.escorts_notify_due() == 0
    assert Recipient.objects.count() == 2


def test_unapproved_templates_do_not_stop_a_booking(
    clock, secretary_a, zhang, hospital, cars, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    assert escort.pk and escort.status == "scheduled"


# ----------------------------------------------------------------------------- reads


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


# ----------------------------------------------------------------------------- pages


def test_pages_answer_their_users(
    clock, login, secretary_a, district_staff, medic, zhang, hospital, cars, sealed
):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_a)
    for name in ("escorts", "schedules", "board", "coverage", "statistics"):
        assert client.get(reverse(f"medical:{name}")).status_code == 200, name
    page = client.get(reverse("medical:escort", args=[escort.pk])).content.decode()
    assert "张建国" in page and "138****0011" in page and "13893100011" not in page
    assert client.get(reverse("medical:book") + f"?compound={sealed.pk}").status_code == 200
    assert client.get(reverse("medical:schedule_add") + f"?compound={sealed.pk}").status_code == 200
    assert (
        client.get(reverse("medical:statistics") + "?start=2026-12-05&end=2026-12-01").status_code
        == 400
    )
    assert client.get(reverse("medical:escorts") + "?start=nonsense").status_code == 400
    response = client.get(reverse("medical:statistics") + "?format=xlsx")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    login(medic)
    assert client.get(reverse("medical:emergency")).status_code == 200
    assert client.get(reverse("medical:book")).status_code == 403


def test_pages_offer_the_emergency_form_only_to_who_may_report(
    login, secretary_a, district_staff, sealed
):
    form = reverse("medical:emergency")
    for user, offered in ((secretary_a, True), (district_staff, False)):
        client = login(user)
        for url in (reverse("medical:escorts"), reverse("compounds:detail", args=[sealed.pk])):
            assert (f'href="{form}' in client.get(url).content.decode()) is offered, (user, url)
        assert (client.get(form).status_code == 200) is offered


def test_booking_page_double_booking_shows_the_clash(
    clock, login, secretary_a, zhang, hospital, cars, sealed
):
    _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_a)
    response = client.post(
        reverse("medical:book") + f"?compound={sealed.pk}",
        {
            "resident": zhang.pk,
            "kind": "dialysis",
            "hospital": hospital.pk,
            "scheduled_at": "2026-12-02T08:00",
            "duration_minutes": 240,
            "ambulance": cars[0].pk,
        },
    )
    assert response.status_code == 400
    assert "甘A12001" in response.content.decode()
    assert Escort.objects.count() == 1

    # The same booking sent twice (a double click) is one escort.
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "hospital": hospital.pk,
        "scheduled_at": "2026-12-03T08:00",
        "duration_minutes": 240,
    }
    url = reverse("medical:book") + f"?compound={sealed.pk}"
    first, second = client.post(url, body), client.post(url, body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Escort.objects.count() == 2


def test_emergency_form_to_returned(clock, login, medic, zhang, hospital, cars, sealed):
    client = login(medic)
    response = client.post(
        reverse("medical:emergency") + f"?compound={sealed.pk}",
        {"resident": zhang.pk, "symptom": "胸痛"},
    )
    escort = Escort.objects.get()
    assert response.status_code == 302 and escort.status == "dispatched"
    board = client.get(reverse("medical:board") + "?partial=1").content.decode()
    assert "胸痛" in board and "甘A12001" in board
    assert client.post(reverse("medical:dispatch", args=[escort.pk])).status_code == 302
    assert Escort.objects.get().ambulance == cars[0]
    for step in ("at_hospital", "returned"):
        client.post(reverse("medical:step", args=[escort.pk]), {"to": step})
    escort.refresh_from_db()
    assert escort.status == "returned"
    assert "胸痛" not in client.get(reverse("medical:board") + "?partial=1").content.decode()


def test_outsiders_get_404(clock, login, secretary_a, secretary_b, zhang, hospital, cars):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    client = login(secretary_b)
    assert client.get(reverse("medical:escort", args=[escort.pk])).status_code == 404
    assert (
        client.post(reverse("medical:step", args=[escort.pk]), {"to": "dispatched"}).status_code
        == 404
    )
    assert "张建国" not in client.get(reverse("medical:escorts")).content.decode()


# ----------------------------------------------------------------------------- API


@pytest.fixture
def api(secretary_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(secretary_a)
    return client


def test_api_lists_are_scoped(clock, api, secretary_a, secretary_b, zhang, hospital, cars):
    from rest_framework.test import APIClient

    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    assert [e["id"] for e in api.get("/api/medical/escorts/").json()["results"]] == [escort.pk]
    assert api.get("/api/medical/hospitals/").json()["results"][0]["short_name"] == "市一院"
    assert len(api.get("/api/medical/ambulances/").json()["results"]) == 2
    outsider = APIClient()
    outsider.force_authenticate(secretary_b)
    assert outsider.get("/api/medical/escorts/").json()["results"] == []
    assert outsider.get(f"/api/medical/escorts/{escort.pk}/").status_code == 404
    assert outsider.get("/api/medical/ambulances/").json()["results"] == []


def test_api_booking_refusals_are_400s_with_the_message(clock, api, zhang, hospital, cars):
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "hospital": hospital.pk,
        "scheduled_at": "2026-12-02T07:30:00+08:00",
        "ambulance": cars[0].pk,
    }
    first = api.post("/api/medical/escorts/", body, format="json")
    assert first.status_code == 201 and first.json()["status"] == "scheduled"
    again = api.post("/api/medical/escorts/", body, format="json")
    assert again.json()["id"] == first.json()["id"]  # a retry books once
    other = ResidentFactory(compound=zhang.compound, name="王秀英")
    clash = api.post("/api/medical/escorts/", {**body, "resident": other.pk}, format="json")
    assert clash.status_code == 400 and "甘A12001" in str(clash.json())
    skip = api.post(
        f"/api/medical/escorts/{first.json()['id']}/step/", {"to": "returned"}, format="json"
    )
    assert skip.status_code == 400
    assert Escort.objects.count() == 1


def test_api_schedule_without_weekdays_is_a_400(clock, api, zhang, hospital):
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "weekdays": [],
        "time": "07:30",
        "hospital": hospital.pk,
        "start_date": "2026-12-01",
    }
    response = api.post("/api/medical/schedules/", body, format="json")
    assert response.status_code == 400 and "weekdays" in response.json()
    assert not Schedule.objects.exists()
    body["weekdays"] = [0, 2, 4]
    created = api.post("/api/medical/schedules/", body, format="json")
    assert created.status_code == 201 and created.json()["weekdays"] == [0, 2, 4]
    paused = api.post(
        f"/api/medical/schedules/{created.json()['id']}/status/",
        {"status": "paused"},
        format="json",
    )
    assert paused.json()["status"] == "paused"


# ----------------------------------------------------------------------------- demo


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


def test_the_ledger_links_to_the_residents_schedule(clock, login, secretary_a, zhang, hospital):
    from residents.models import VulnerableTag

    VulnerableTag.objects.create(resident=zhang, category="chronic", treatment="透析")
    _dialysis(secretary_a, zhang, hospital)
    client = login(secretary_a)
    ledger = client.get(reverse("residents:ledger")).content.decode()
    assert "透析 周一、三、五 07:30" in ledger
    assert f"?resident={zhang.pk}" in ledger
    detail = client.get(reverse("residents:detail", args=[zhang.pk])).content.decode()
    assert "透析 周一、三、五 07:30" in detail
    schedules = client.get(reverse("medical:schedules") + f"?resident={zhang.pk}")
    assert "张建国" in schedules.content.decode()


def test_district_overview_flags_compounds_lacking_cover(login, district_staff, sealed, compound_b):
    AmbulanceFactory(compound=sealed)
    page = login(district_staff).get(reverse("dashboards:overview"), follow=True)
    gaps = page.content.decode()
    assert "medical-gaps" in gaps and sealed.name in gaps
    assert compound_b.name not in gaps.split('id="medical-gaps"')[1].split("</div>")[0]


def test_the_crew_moves_its_job_along_from_todays_tasks(
    clock, login, secretary_a, zhang, hospital, cars, crew
):
    escort = _book(
        secretary_a, zhang, hospital, at=MORNING + datetime.timedelta(minutes=30), ambulance=cars[0]
    )
    client = login(crew)
    assert (
        f'id="task-escort{escort.pk}"' in client.get(reverse("volunteers:today")).content.decode()
    )
    url = reverse("medical:step", args=[escort.pk]) + "?from=task"
    for expected in ("dispatched", "at_hospital", "returned"):
        row = client.post(url, HTTP_HX_REQUEST="true")
        assert row.status_code == 200 and 'class="task' in row.content.decode()
        escort.refresh_from_db()
        assert escort.status == expected
    assert 'class="task done"' in row.content.decode()
    # Done: a further tap changes nothing.
    client.post(url, HTTP_HX_REQUEST="true")
    escort.refresh_from_db()
    assert escort.status == "returned" and len(escort.steps) == 5


def test_a_job_under_way_at_midnight_stays_in_the_crews_tasks(
    clock, login, secretary_a, zhang, hospital, cars, crew
):
    """Out at 23:30, at hospital at 00:20 Beijing time (16:20 UTC): the crew still finds the
    job in 今日任务 after midnight, until it is closed."""
    late = MORNING.replace(hour=23, minute=30)
    clock.move_to(late - datetime.timedelta(hours=1))
    escort = _book(secretary_a, zhang, hospital, at=late, ambulance=cars[0])
    client = login(crew)
    url = reverse("medical:step", args=[escort.pk]) + "?from=task"
    clock.move_to(late)
    client.post(url, HTTP_HX_REQUEST="true")  # dispatched
    clock.move_to(late + datetime.timedelta(minutes=50))
    after_midnight = timezone.localdate()
    assert after_midnight == MORNING.date() + datetime.timedelta(days=1)
    keys = [t.key for t in registry.tasks_for(crew, after_midnight)]
    assert f"escort:{escort.pk}" in keys
    today = client.get(reverse("volunteers:today")).content.decode()
    assert f'id="task-escort{escort.pk}"' in today
    client.post(url, HTTP_HX_REQUEST="true")  # at hospital
    client.post(url, HTTP_HX_REQUEST="true")  # returned: closed
    escort.refresh_from_db()
    assert escort.status == "returned"
    assert f"escort:{escort.pk}" not in [t.key for t in registry.tasks_for(crew, after_midnight)]


def test_assigning_a_busy_ambulance_is_refused(clock, secretary_a, zhang, sealed, hospital, cars):
    _book(secretary_a, zhang, hospital, ambulance=cars[0])
    other = _book(secretary_a, ResidentFactory(compound=sealed, name="王秀英"), hospital)
    with pytest.raises(Refused) as refused:
        services.escort_assign(by=secretary_a, escort=other, ambulance=cars[0])
    assert "张建国" in str(refused.value.message)
    other.refresh_from_db()
    assert other.status == "requested" and other.ambulance_id is None


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


def test_a_hospital_without_the_service_is_refused(clock, secretary_a, zhang, district):
    maternity = HospitalFactory(name="市妇幼保健院", services=["maternity"], districts=[district])
    with pytest.raises(Refused) as refused:
        _book(secretary_a, zhang, maternity, kind="dialysis")
    assert refused.value.field == "hospital"
    _book(secretary_a, zhang, maternity, kind="prenatal")


def test_schedule_page_refuses_no_weekdays_and_saves_with_them(
    clock, login, secretary_a, zhang, sealed, hospital
):
    client = login(secretary_a)
    url = reverse("medical:schedule_add") + f"?compound={sealed.pk}"
    body = {
        "resident": zhang.pk,
        "kind": "dialysis",
        "time": "07:30",
        "duration_minutes": 240,
        "hospital": hospital.pk,
        "start_date": "2026-12-01",
    }
    refused = client.post(url, body)
    assert refused.status_code == 400 and "请至少选择一个星期几" in refused.content.decode()
    assert not Schedule.objects.exists()
    assert client.post(url, {**body, "weekdays": ["0", "2", "4"]}).status_code == 302
    assert Schedule.objects.get().weekdays == [0, 2, 4]


def test_a_double_submitted_emergency_is_one(clock, login, medic, zhang, sealed, hospital, cars):
    client = login(medic)
    url = reverse("medical:emergency") + f"?compound={sealed.pk}"
    for _ in range(2):
        assert client.post(url, {"resident": zhang.pk, "symptom": "胸痛"}).status_code == 302
    assert Escort.objects.count() == 1
    assert Ambulance.objects.filter(status="on_job").count() == 1


def test_services_refuse_rows_outside_the_jurisdiction(
    clock, secretary_a, secretary_b, zhang, hospital, cars
):
    escort = _book(secretary_a, zhang, hospital, ambulance=cars[0])
    schedule = _dialysis(secretary_a, zhang, hospital)
    b_medic = UserFactory(
        username="b_medic", role=Role.MEDIC, posted_to=secretary_b_compound(secretary_b)
    )
    for call in (
        lambda: services.escort_advance(by=secretary_b, escort=escort, to="cancelled"),
        lambda: services.escort_advance(by=b_medic, escort=escort, to="cancelled"),
        lambda: services.escort_assign(by=secretary_b, escort=escort, ambulance=cars[1]),
        lambda: services.schedule_set_status(by=secretary_b, schedule=schedule, status="paused"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    escort.refresh_from_db()
    schedule.refresh_from_db()
    assert escort.status == "scheduled" and escort.ambulance == cars[0]
    assert schedule.status == "active"


def secretary_b_compound(secretary_b):
    from compounds.models import Posting

    community = Posting.objects.get(user=secretary_b).community
    return CompoundFactory(community=community, name="民勤街二区")


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
