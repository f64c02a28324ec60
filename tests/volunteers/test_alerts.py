"""A coming shift short of people reaches the secretary's bell, once (issue 19)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Alert
from tests.factories import VolunteerFactory
from volunteers import services, tasks
from volunteers.models import Assignment, Shift

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 12, 1, 20, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def shift(compound, starts, needed=2, name="门岗"):
    return Shift.objects.create(
        compound=compound,
        name=name,
        date=starts.date(),
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=4),
        needed=needed,
    )


def test_a_coming_shift_short_of_people_is_alerted_once(
    clock, login, secretary_a, secretary_b, compound_a, settings
):
    settings.WUYI_UNSTAFFED_ALERT_HOURS = 12
    tomorrow_8 = NOW + datetime.timedelta(hours=12)
    short = shift(compound_a, tomorrow_8)
    full = shift(compound_a, tomorrow_8, needed=1, name="配送")
    Assignment.objects.create(shift=full, volunteer=VolunteerFactory(compound=compound_a))
    later = shift(compound_a, NOW + datetime.timedelta(hours=13), name="夜班")
    past = shift(compound_a, NOW - datetime.timedelta(hours=5), name="早班")

    assert services.shifts_alert_unstaffed() == 1
    assert services.shifts_alert_unstaffed() == 0  # once
    alert = Alert.objects.get()
    assert alert.user == secretary_a
    assert alert.link == reverse("volunteers:shift", args=[short.pk])
    assert "门岗" in alert.text and "12-02 08:00" in alert.text and "还缺2人" in alert.text
    assert not Alert.objects.filter(user=secretary_b).exists()
    # An hour on, the night shift enters the window; the past one never does.
    clock.move_to(NOW + datetime.timedelta(hours=1))
    assert tasks.alert_unstaffed.apply().get() == "alerted 1 unstaffed shifts"
    assert {a.link for a in Alert.objects.all()} == {
        reverse("volunteers:shift", args=[s.pk]) for s in (short, later)
    }
    assert past.pk not in [s.pk for s in (short, later)]


def test_beat_runs_it(settings):
    assert settings.CELERY_BEAT_SCHEDULE["alert-unstaffed-shifts"]["task"] == (
        "volunteers.alert_unstaffed"
    )
