"""Days as the committees count them: in Asia/Shanghai (settings.TIME_ZONE), whatever the
server's clock or the database session say. A date rule names its day's bounds here, so that at
00:30 Beijing time (16:30 UTC the day before) "today" is still the day people live in.

- `start_of(day)`: the instant a day begins (00:00 local), aware.
- `bounds(first, last)`: the half-open span [00:00 of first, 00:00 of the day after last).
- `clock(at)`: an instant's time of day there, "14:05".

Something that runs from one instant to another (a night shift 22:00-02:00, a round's window)
belongs to every day it takes up part of: ``starts_at < end and ends_at > start``.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

ONE_DAY = datetime.timedelta(days=1)


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def bounds(
    first: datetime.date, last: datetime.date | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    return start_of(first), start_of((last or first) + ONE_DAY)


def clock(at: datetime.datetime) -> str:
    """`at` as a clock in Asia/Shanghai shows it, "14:05" (00:05 at 16:05 UTC). The site's
    zone is read once (timezone.localtime asks the request's active zone each time: 4 µs, a
    tenth of 今日任务's rows under load)."""
    return at.astimezone(timezone.get_default_timezone()).strftime("%H:%M")


def aware(day: datetime.date, at: datetime.time) -> datetime.datetime:
    """`at` o'clock on `day` in Asia/Shanghai (the site's time zone), as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, at))
