"""The ordering page finds a household at its door however the door is typed: it reads the
address through the register's own normalisation (residents.selectors.household_at)."""

import uuid

import pytest
from django.urls import reverse

from residents import selectors as residents_selectors
from supplies.models import Order
from wuyi.lib.cn import NormalizeError

SPELLINGS = [("1", "101"), ("1单元", "101"), ("1", "101室"), ("1", "１０１")]


@pytest.mark.parametrize(("unit", "room"), SPELLINGS)
def test_household_at_reads_the_door_as_the_register_does(secretary_a, households, unit, room):
    stored = households[0]  # unit 1, room 101
    found = residents_selectors.household_at(
        building=stored.building, unit=unit, room=room, by=secretary_a
    )
    assert found == stored


def test_household_at_is_none_for_an_empty_door_or_an_outsider(secretary_b, households):
    stored = households[0]
    assert residents_selectors.household_at(building=stored.building, unit="9", room="999") is None
    assert (
        residents_selectors.household_at(
            building=stored.building, unit="1", room="101", by=secretary_b
        )
        is None
    )
    with pytest.raises(NormalizeError):
        residents_selectors.household_at(building=stored.building, unit="1", room="")


@pytest.mark.parametrize(("unit", "room"), SPELLINGS)
def test_the_ordering_page_takes_every_spelling(login, secretary_a, buy, households, unit, room):
    stored = households[0]
    rice, _oil = buy.items.order_by("position")
    response = login(secretary_a).post(
        reverse("supplies:order_add", args=[buy.pk]),
        {
            "building": stored.building_id,
            "unit": unit,
            "room": room,
            "phone": "13800138000",
            "client_key": uuid.uuid4().hex,
            f"q{rice.pk}": "1",
        },
    )
    assert response.status_code == 302, response.text
    assert Order.objects.get().household == stored
