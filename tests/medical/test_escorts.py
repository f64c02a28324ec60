"""Escorts: booking, double bookings, steps one at a time, emergencies dispatched once,
and refusals outside the jurisdiction."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from medical import services
from medical.models import Ambulance, Escort, EscortStatus
from tests.factories import (
    AmbulanceFactory,
    CompoundFactory,
    HospitalFactory,
    ResidentFactory,
    UserFactory,
)
from tests.medical.helpers import MORNING, TOMORROW_0730, _book, _dialysis, secretary_b_compound
from wuyi.lib.errors import Refused


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


def test_assigning_a_busy_ambulance_is_refused(clock, secretary_a, zhang, sealed, hospital, cars):
    _book(secretary_a, zhang, hospital, ambulance=cars[0])
    other = _book(secretary_a, ResidentFactory(compound=sealed, name="王秀英"), hospital)
    with pytest.raises(Refused) as refused:
        services.escort_assign(by=secretary_a, escort=other, ambulance=cars[0])
    assert "张建国" in str(refused.value.message)
    other.refresh_from_db()
    assert other.status == "requested" and other.ambulance_id is None


def test_a_hospital_without_the_service_is_refused(clock, secretary_a, zhang, district):
    maternity = HospitalFactory(name="市妇幼保健院", services=["maternity"], districts=[district])
    with pytest.raises(Refused) as refused:
        _book(secretary_a, zhang, maternity, kind="dialysis")
    assert refused.value.field == "hospital"
    _book(secretary_a, zhang, maternity, kind="prenatal")


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
