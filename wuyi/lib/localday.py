"""Days as the committees count them: in Asia/Shanghai (settings.TIME_ZONE), whatever the
server's clock or the database's session say. A date rule names its day here, so that at
00:30 Beijing time (16:30 UTC the day before) "today" is still the day people live in.

- `today()`: the local date now.
- `start_of(day)`: the instant a day begins (00:00 local), aware.
- `bounds(first, last)`: the half-open span [00:00 of first, 00:00 of the day after last).
- `overlaps(day, starts_at, ends_at)`: whether something from starts_at to ends_at takes up
  part of the day (a night shift 22:00–02:00 belongs to both days it touches).
"""

from __future__ import annotations

import datetime

from django.utils import timezone

ONE_DAY = datetime.timedelta(days=1)


def today() -> datetime.date:
    return timezone.localdate(timezone.now(), timezone.get_default_timezone())


def start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time.min, tzinfo=timezone.get_default_timezone()
    )


def bounds(
    first: datetime.date, last: datetime.date | None = None
) -> tuple[datetime.datetime, datetime.datetime]:
    return start_of(first), start_of((last or first) + ONE_DAY)


def overlaps(day: datetime.date, starts_at: datetime.datetime, ends_at: datetime.datetime) -> bool:
    start, end = bounds(day)
    return starts_at < end and ends_at > start
