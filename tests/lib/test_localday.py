"""Days and clocks as the committees read them, in Asia/Shanghai (wuyi/lib/localday.py)."""

import datetime

from django.utils import timezone

from wuyi.lib import localday

UTC = datetime.UTC


def test_a_clock_is_read_in_shanghai_whatever_zone_the_instant_is_in():
    # 16:05 UTC is five past midnight the next day in Shanghai.
    assert localday.clock(datetime.datetime(2026, 12, 4, 16, 5, tzinfo=UTC)) == "00:05"
    assert localday.clock(datetime.datetime(2026, 12, 4, 23, 59, tzinfo=UTC)) == "07:59"
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    assert localday.clock(datetime.datetime(2026, 12, 5, 1, 5, tzinfo=tokyo)) == "00:05"
    # The same as the request's clock, where no other zone is activated.
    at = datetime.datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    assert localday.clock(at) == timezone.localtime(at).strftime("%H:%M") == "15:30"


def test_a_day_runs_from_shanghai_midnight_to_the_next():
    start, end = localday.bounds(datetime.date(2026, 12, 5))
    assert start == datetime.datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert end - start == datetime.timedelta(days=1)
    start, end = localday.bounds(datetime.date(2026, 12, 5), datetime.date(2026, 12, 7))
    assert end == datetime.datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
