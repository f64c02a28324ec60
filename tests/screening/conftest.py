"""Fixtures the screening tests share. Each module freezes its own clock (its NOW); round 6
runs on the 3rd and 4th of December 2026, the days those clocks stand in."""

import datetime

import pytest

from screening import services


@pytest.fixture
def round6(district, district_staff):
    """Round 6 of the district, in progress, opened by district staff."""
    return services.round_open(
        district_id=district.pk,
        number=6,
        starts_on=datetime.date(2026, 12, 3),
        ends_on=datetime.date(2026, 12, 4),
        by=district_staff,
    )
