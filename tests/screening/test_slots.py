"""Sampling points and time slots per compound for a round: set by the secretary or staff on
the compound's coverage page, printed on the door cards of the buildings they serve."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from screening import services
from screening.models import SamplingSlot
from tests.factories import HouseholdFactory, ResidentFactory
from wuyi.lib.errors import Refused
from wuyi.lib.localday import aware

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 7, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
DAY = datetime.date(2026, 12, 3)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def form(building_ids=(), **over):
    data = {"place": "东门广场", "day": "2026-12-03", "start": "08:00", "end": "10:00"}
    data.update(over)
    return {**data, "buildings": [str(b) for b in building_ids]}


def test_a_slot_for_building_one_shows_on_its_door_cards(login, secretary_a, round6, compound_a):
    one, two = compound_a.buildings.order_by("number")
    for building in (one, two):
        home = HouseholdFactory(compound=compound_a, building=building)
        ResidentFactory(compound=compound_a, household=home)
    client = login(secretary_a)
    url = reverse("screening:slot_add", args=[round6.pk, compound_a.pk])
    assert client.post(url, form([one.pk])).status_code == 302
    assert client.post(url, form([one.pk])).status_code == 302  # a double submit
    slot = SamplingSlot.objects.get()
    assert slot.starts_at == aware(DAY, datetime.time(8)) and list(slot.buildings.all()) == [one]
    page = client.get(reverse("screening:compound", args=[round6.pk, compound_a.pk])).content
    assert "东门广场" in page.decode() and "12-03 08:00–10:00" in page.decode()
    cards = client.get(reverse("screening:cards", args=[compound_a.pk])).content.decode()
    assert cards.count("东门广场 12-03 08:00–10:00") == 0  # the place and the times apart
    assert cards.count("<strong>东门广场</strong>") == 1  # building 1's card, not building 2's
    client.post(reverse("screening:slot_remove", args=[slot.pk]))
    assert not SamplingSlot.objects.exists()


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"end": "07:00"}, "ends_at"),
        ({"day": "2026-12-09"}, "starts_at"),
        ({"place": "   "}, "place"),
        ({"start": "00:00", "end": "23:00"}, "ends_at"),
    ],
)
def test_bad_slots_are_refused(secretary_a, round6, compound_a, over, field):
    data = form(**over)
    day = datetime.date.fromisoformat(data["day"])
    with pytest.raises(Refused) as refused:
        services.slot_add(
            round_id=round6.pk,
            compound_id=compound_a.pk,
            place=data["place"],
            starts_at=aware(day, datetime.time.fromisoformat(data["start"])),
            ends_at=aware(day, datetime.time.fromisoformat(data["end"])),
            by=secretary_a,
        )
    assert field in refused.value.errors
    assert not SamplingSlot.objects.exists()


def test_another_compounds_building_and_a_closed_round(
    secretary_a, district_staff, round6, compound_a, compound_b
):
    slot = {
        "round_id": round6.pk,
        "compound_id": compound_a.pk,
        "place": "东门",
        "starts_at": aware(DAY, datetime.time(8)),
        "ends_at": aware(DAY, datetime.time(9)),
    }
    other = compound_b.buildings.get()
    with pytest.raises(Refused):
        services.slot_add(**slot, building_ids=[other.pk], by=secretary_a)
    services.round_close(round_id=round6.pk, by=district_staff)
    with pytest.raises(Refused):
        services.slot_add(**slot, by=secretary_a)
    assert not SamplingSlot.objects.exists()


def test_who_may_set_slots(login, volunteer, secretary_b, round6, compound_a):
    url = reverse("screening:slot_add", args=[round6.pk, compound_a.pk])
    assert login(secretary_b).post(url, form()).status_code == 404
    assert login(volunteer).post(url, form()).status_code == 403
    with pytest.raises(PermissionDenied):
        services.slot_add(
            round_id=round6.pk,
            compound_id=compound_a.pk,
            place="东门",
            starts_at=aware(DAY, datetime.time(8)),
            ends_at=aware(DAY, datetime.time(9)),
            by=volunteer,
        )
    assert not SamplingSlot.objects.exists()
