"""Emergencies reach the secretary's bell; escorts of a resident who left the register are
cancelled with the reason and their schedules paused (issue 16, issue 19)."""

import datetime

from django.urls import reverse

from accounts.models import Alert
from medical import services
from medical.models import Escort, EscortStatus, Schedule, ScheduleStatus
from residents.services import resident_leave
from tests.factories import MedicalStaffFactory, UserFactory
from tests.medical.helpers import MORNING, TOMORROW_0730, _book, _dialysis

# ----------------------------------------------------------------------------- emergencies


def test_an_emergency_reaches_the_secretary_and_the_medics_but_not_the_reporter(
    clock,
    login,
    secretary_a,
    secretary_b,
    medic,
    zhang,
    cars,
    doctor,
    sealed,
):
    other_medic = UserFactory(username="medic2", role="medic", posted_to=sealed)
    MedicalStaffFactory(compound=sealed, name="王护士", user=other_medic)
    escort = services.emergency_report(by=medic, resident=zhang, symptom="胸痛")
    told = set(Alert.objects.values_list("user__username", flat=True))
    assert told == {secretary_a.username, other_medic.username}
    alert = Alert.objects.get(user=secretary_a)
    assert alert.severity == "urgent" and alert.link == reverse("medical:escort", args=[escort.pk])
    assert "张建国" in alert.text and "胸痛" in alert.text and escort.ambulance.plate in alert.text
    # The same emergency sent twice (a double tap) is one alert each.
    services.emergency_report(by=medic, resident=zhang, symptom="胸痛")
    assert Alert.objects.count() == 2
    page = login(secretary_a).get(reverse("alerts:list")).content.decode()
    assert "胸痛" in page
    assert "胸痛" not in login(secretary_b).get(reverse("alerts:list")).content.decode()


def test_an_emergency_logged_after_the_fact_alerts_nobody(
    clock,
    secretary_a,
    medic,
    zhang,
):
    services.emergency_report(
        by=medic, resident=zhang, symptom="摔伤", at=MORNING - datetime.timedelta(hours=3)
    )
    assert not Alert.objects.exists()


# ----------------------------------------------------------------------------- departures


def test_escorts_of_a_resident_who_left_are_cancelled_with_the_reason(
    clock,
    secretary_a,
    zhang,
    hospital,
    cars,
    doctor,
):
    schedule = _dialysis(secretary_a, zhang, hospital, ambulance=cars[0], staff=doctor)
    services.escorts_book(days=7)
    one_off = _book(
        secretary_a,
        zhang,
        hospital,
        at=TOMORROW_0730 + datetime.timedelta(days=2, hours=2),
        kind="other",
    )
    on_the_road = services.emergency_report(by=secretary_a, resident=zhang, symptom="胸闷")
    assert on_the_road.status == EscortStatus.DISPATCHED
    coming = Escort.objects.filter(status__in=("requested", "scheduled")).count()
    assert coming == 4  # Wed, Fri, Mon and the one-off

    resident_leave(by=secretary_a, resident=zhang, reason="moved_out")

    cancelled = Escort.objects.filter(status=EscortStatus.CANCELLED)
    assert cancelled.count() == coming and one_off.pk in {e.pk for e in cancelled}
    for escort in cancelled:
        assert escort.steps[-1]["note"] == "居民已注销（迁出）" and escort.closed_at == MORNING
        assert escort.steps[-1]["by"] == secretary_a.pk
    on_the_road.refresh_from_db()
    assert on_the_road.status == EscortStatus.DISPATCHED  # its crew brings it to an end
    schedule.refresh_from_db()
    assert schedule.status == ScheduleStatus.PAUSED
    assert services.escorts_book(days=14).created == 0
    # The escort worker of the booked dialysis trips hears of each in the app.
    texts = list(Alert.objects.filter(user=doctor.user).values_list("text", flat=True))
    assert len([t for t in texts if "已取消" in t and "迁出" in t]) == 3


def test_a_second_leave_changes_nothing(clock, secretary_a, zhang, hospital):
    _dialysis(secretary_a, zhang, hospital)
    services.escorts_book(days=7)
    resident_leave(by=secretary_a, resident=zhang, reason="deceased")
    steps = {e.pk: len(e.steps) for e in Escort.objects.all()}
    resident_leave(by=secretary_a, resident=zhang, reason="moved_out")
    assert {e.pk: len(e.steps) for e in Escort.objects.all()} == steps
    assert Schedule.objects.get().status == ScheduleStatus.PAUSED


def test_a_refused_leave_cancels_nothing(clock, volunteer, zhang, secretary_a, hospital):
    import pytest
    from django.core.exceptions import PermissionDenied

    _dialysis(secretary_a, zhang, hospital)
    services.escorts_book(days=7)
    with pytest.raises(PermissionDenied):
        resident_leave(by=volunteer, resident=zhang, reason="moved_out")
    assert not Escort.objects.filter(status=EscortStatus.CANCELLED).exists()
    assert Schedule.objects.get().status == ScheduleStatus.ACTIVE
