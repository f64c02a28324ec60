"""Shared by the medical tests: the frozen morning and booking shortcuts."""

import datetime
from zoneinfo import ZoneInfo

from medical import services
from tests.factories import (
    CompoundFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


# A Tuesday morning in the outbreak: 10:00 in Lanzhou.
MORNING = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


TOMORROW_0730 = datetime.datetime(2026, 12, 2, 7, 30, tzinfo=SHANGHAI)


def _book(secretary, resident, hospital, at=TOMORROW_0730, **kwargs):
    return services.escort_book(
        by=secretary,
        resident=resident,
        kind=kwargs.pop("kind", "dialysis"),
        hospital=hospital,
        scheduled_at=at,
        **kwargs,
    )


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


def secretary_b_compound(secretary_b):
    from compounds.models import Posting

    community = Posting.objects.get(user=secretary_b).community
    return CompoundFactory(community=community, name="民勤街二区")
