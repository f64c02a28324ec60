"""The escort, schedule and ambulance graphs (medical.rules), walked through the services:
every move the graph has works, every other one is refused with the graph's message and
changes nothing."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from medical import rules, services
from medical.models import (
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortStatus,
    Schedule,
    ScheduleStatus,
)
from tests.factories import AmbulanceFactory, HospitalFactory, ResidentFactory, UserFactory
from wuyi.lib.graphs import MoveRefused

E, SC, A = EscortStatus, ScheduleStatus, AmbulanceStatus
MORNING = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TOMORROW_0730 = datetime.datetime(2026, 12, 2, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def hospital(district):
    return HospitalFactory(name="兰州市第一人民医院", short_name="市一院", districts=[district])


@pytest.fixture
def zhang(compound_a):
    return ResidentFactory(compound=compound_a, name="张建国", phone="13893100011")


@pytest.fixture
def car(compound_a):
    return AmbulanceFactory(compound=compound_a, plate="甘A12001", driver_phone="13893100021")


@pytest.fixture
def escort(secretary_a, zhang, hospital):
    return services.escort_book(
        by=secretary_a, resident=zhang, kind="dialysis", hospital=hospital,
        scheduled_at=TOMORROW_0730,
    )  # fmt: skip


def _put(escort: Escort, status: str, car: Ambulance) -> Escort:
    """The escort in `status`; from scheduled on it has its ambulance, out on the road."""
    on_road = status in (E.DISPATCHED, E.AT_HOSPITAL)
    Escort.objects.filter(pk=escort.pk).update(
        status=status,
        ambulance=None if status == E.REQUESTED else car,
        dispatched_at=MORNING if on_road or status in (E.RETURNED, E.ADMITTED) else None,
    )
    Ambulance.objects.filter(pk=car.pk).update(status=A.ON_JOB if on_road else A.AVAILABLE)
    escort.refresh_from_db()
    return escort


def _move(escort: Escort, to: str, *, by, car: Ambulance) -> None:
    if to == E.SCHEDULED:
        services.escort_assign(by=by, escort=escort, ambulance=car)
    elif to == E.REQUESTED:
        # An escort is requested once, when booked; nothing moves one back to it.
        rules.ESCORT.check(escort.status, to, by=by, obj=escort)
    else:
        services.escort_advance(by=by, escort=escort, to=to)


def test_the_escort_graph_is_one_step_at_a_time():
    assert set(rules.ESCORT.moves()) == {
        (E.REQUESTED, E.SCHEDULED), (E.REQUESTED, E.CANCELLED),
        (E.SCHEDULED, E.DISPATCHED), (E.SCHEDULED, E.CANCELLED),
        (E.DISPATCHED, E.AT_HOSPITAL), (E.DISPATCHED, E.CANCELLED),
        (E.AT_HOSPITAL, E.RETURNED), (E.AT_HOSPITAL, E.ADMITTED),
    }  # fmt: skip


@pytest.mark.parametrize(("current", "target"), sorted(rules.ESCORT.moves()))
def test_every_escort_move_works_through_its_service(escort, secretary_a, car, current, target):
    escort = _put(escort, current, car)
    _move(escort, target, by=secretary_a, car=car)
    escort.refresh_from_db()
    assert escort.status == target
    assert services.history(escort)[-1]["status"] == target
    car.refresh_from_db()
    # Dispatched puts the ambulance on a job; closing a job on the road frees it.
    on_road = target in (E.DISPATCHED, E.AT_HOSPITAL)
    assert car.status == (A.ON_JOB if on_road else A.AVAILABLE)


@pytest.mark.parametrize(("current", "target"), sorted(rules.ESCORT.refused()))
def test_every_refused_escort_move_is_refused_with_its_message(
    escort, secretary_a, car, current, target
):
    escort = _put(escort, current, car)
    with pytest.raises(MoveRefused) as refused:
        _move(escort, target, by=secretary_a, car=car)
    text = str(refused.value)
    assert rules.ESCORT.label(current) in text and rules.ESCORT.label(target) in text
    for allowed in rules.ESCORT.allowed(current):
        assert rules.ESCORT.label(allowed) in text
    escort.refresh_from_db()
    assert escort.status == current


def test_who_moves_an_escort(escort, secretary_a, car, compound_a):
    outsider = UserFactory(role=Role.VOLUNTEER, posted_to=compound_a)
    escort = _put(escort, E.SCHEDULED, car)
    with pytest.raises(PermissionDenied):
        services.escort_advance(by=outsider, escort=escort, to=E.DISPATCHED)
    assert rules.ESCORT.targets(E.SCHEDULED, by=outsider, obj=escort) == []
    car.crew.add(outsider)  # on the ambulance's crew: moves it along, does not schedule
    assert rules.ESCORT.targets(E.SCHEDULED, by=outsider, obj=escort) == [
        E.DISPATCHED, E.CANCELLED,
    ]  # fmt: skip
    assert rules.ESCORT.targets(E.REQUESTED, by=outsider, obj=escort) == [E.CANCELLED]


@pytest.fixture
def schedule(secretary_a, zhang, hospital):
    return services.schedule_save(
        by=secretary_a, resident=zhang, kind="dialysis", weekdays=[0, 2, 4], time="07:30",
        hospital=hospital, start_date=MORNING.date(),
    )  # fmt: skip


@pytest.mark.parametrize(("current", "target"), sorted(rules.SCHEDULE.moves()))
def test_every_schedule_move_works(schedule, secretary_a, current, target):
    Schedule.objects.filter(pk=schedule.pk).update(status=current)
    services.schedule_set_status(by=secretary_a, schedule=schedule, status=target)
    schedule.refresh_from_db()
    assert schedule.status == target


@pytest.mark.parametrize(("current", "target"), sorted(rules.SCHEDULE.refused()))
def test_every_refused_schedule_move_is_refused_with_its_message(
    schedule, secretary_a, current, target
):
    Schedule.objects.filter(pk=schedule.pk).update(status=current)
    with pytest.raises(MoveRefused) as refused:
        services.schedule_set_status(by=secretary_a, schedule=schedule, status=target)
    assert rules.SCHEDULE.label(current) in str(refused.value)
    schedule.refresh_from_db()
    assert schedule.status == current


def test_the_same_schedule_status_again_changes_nothing(schedule, secretary_a):
    services.schedule_set_status(by=secretary_a, schedule=schedule, status=SC.ACTIVE)
    schedule.refresh_from_db()
    assert schedule.status == SC.ACTIVE


def test_only_the_secretary_moves_a_schedule(schedule, medic):
    with pytest.raises(PermissionDenied):
        services.schedule_set_status(by=medic, schedule=schedule, status=SC.PAUSED)


@pytest.mark.parametrize(("current", "target"), sorted(rules.AMBULANCE.moves()))
def test_every_ambulance_move_works(escort, secretary_a, car, current, target):
    Ambulance.objects.filter(pk=car.pk).update(status=current)
    car.refresh_from_db()
    if target == A.ON_JOB:  # a dispatch
        escort = _put(escort, E.SCHEDULED, car)
        services.escort_advance(by=secretary_a, escort=escort, to=E.DISPATCHED)
    elif current == A.ON_JOB:  # its last job on the road closed
        escort = _put(escort, E.AT_HOSPITAL, car)
        services.escort_advance(by=secretary_a, escort=escort, to=E.RETURNED)
    else:
        services.ambulance_set_status(by=secretary_a, ambulance=car, status=target)
    car.refresh_from_db()
    assert car.status == target


@pytest.mark.parametrize(("current", "target"), sorted(rules.AMBULANCE.refused()))
def test_every_refused_ambulance_move_is_refused_with_its_message(
    escort, secretary_a, car, current, target
):
    if target == A.ON_JOB:  # a dispatch of an ambulance out of service
        escort = _put(escort, E.SCHEDULED, car)
    Ambulance.objects.filter(pk=car.pk).update(status=current)
    car.refresh_from_db()
    with pytest.raises(MoveRefused) as refused:
        if target == A.ON_JOB:
            services.escort_advance(by=secretary_a, escort=escort, to=E.DISPATCHED)
        else:
            services.ambulance_set_status(by=secretary_a, ambulance=car, status=target)
    text = str(refused.value)
    assert rules.AMBULANCE.label(current) in text and rules.AMBULANCE.label(target) in text
    car.refresh_from_db()
    assert car.status == current
    escort.refresh_from_db()
    assert escort.status != E.DISPATCHED


def test_only_the_secretary_takes_an_ambulance_out_of_service(car, medic):
    with pytest.raises(PermissionDenied):
        services.ambulance_set_status(by=medic, ambulance=car, status=A.OUT_OF_SERVICE)
