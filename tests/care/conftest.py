"""Fixtures of the care tests: a compound with a youth team of two volunteers, four elders
living alone in the ledger, and the day's checks made at 09:00 on 2026-12-01."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from care import services
from care.models import WelfareCheck
from tests.factories import HouseholdFactory, ResidentFactory, VulnerableTagFactory
from volunteers import services as volunteer_services

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
DAY = MORNING.date()


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def team(secretary_a, community_a, compound_a):
    return volunteer_services.team_save(
        by=secretary_a,
        community=community_a,
        name="青年志愿队",
        kind="youth",
        compounds=[compound_a],
    )


def _volunteer(secretary, community, team, name, phone):
    volunteer, _token = volunteer_services.volunteer_create(
        by=secretary, community=community, name=name, phone=phone, teams=[team]
    )
    return volunteer


@pytest.fixture
def li(secretary_a, community_a, team):
    return _volunteer(secretary_a, community_a, team, "李志愿", "13893100011")


@pytest.fixture
def wang(secretary_a, community_a, team):
    return _volunteer(secretary_a, community_a, team, "王志愿", "13893100012")


def _ledger(compound, category="elderly_alone", household=None, name="张桂兰"):
    resident = ResidentFactory(
        compound=compound, household=household or HouseholdFactory(compound=compound), name=name
    )
    VulnerableTagFactory(compound=compound, resident=resident, category=category)
    return resident


@pytest.fixture
def elders(compound_a):
    return [_ledger(compound_a, name=f"老人{i}") for i in range(4)]


def _check(resident):
    return WelfareCheck.objects.get(resident=resident, date=DAY)


@pytest.fixture
def made(clock, elders, li, wang):
    services.checks_generate(day=DAY)
    return {c.resident_id: c for c in WelfareCheck.objects.select_related("volunteer")}
