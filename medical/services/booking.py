"""The booking job: the escorts of every active schedule for the coming days, written at once;
and the reminders of booked escorts whose SMS has not gone."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import Message
from wuyi.lib import pgcopy
from wuyi.lib.localday import aware

from .. import notify, rules
from ..models import (
    Escort,
    EscortStatus,
    Schedule,
    ScheduleStatus,
)


@dataclass
class BookResult:
    created: int = 0
    existed: int = 0
    past: int = 0  # pickups already gone by when the job ran: not created
    schedules: int = 0

    def line(self) -> str:
        return f"created {self.created} escorts, {self.existed} already booked"


BOOK_FIELDS = (
    "compound_id",
    "resident_id",
    "kind",
    "pickup",
    "hospital_id",
    "scheduled_at",
    "expected_return_at",
    "ambulance_id",
    "staff_id",
    "status",
    "steps",
    "schedule_id",
    "schedule_date",
)


BOOK_CHUNK = 5000  # schedules per pass: memory stays flat at city scale


def escort_rows(
    schedules: list[tuple],
    days: list[datetime.date],
    now: datetime.datetime,
    result: BookResult,
    steps: Any,
):
    """The escorts these schedules need on these days, as rows in BOOK_FIELDS order."""
    slots: dict[tuple[datetime.date, datetime.time], datetime.datetime] = {}
    for (
        pk,
        compound_id,
        resident_id,
        kind,
        weekdays,
        at,
        minutes,
        hospital_id,
        ambulance_id,
        staff_id,
        pickup,
        start_date,
        end_date,
    ) in schedules:
        for day in days:
            if day.weekday() not in weekdays or day < start_date:
                continue
            if end_date is not None and day > end_date:
                continue
            key = (day, at)
            if key not in slots:
                slots[key] = aware(day, at)
            start = slots[key]
            if start <= now:
                result.past += 1
                continue
            status = EscortStatus.SCHEDULED if ambulance_id else EscortStatus.REQUESTED
            yield (
                compound_id,
                resident_id,
                kind,
                pickup,
                hospital_id,
                start,
                start + datetime.timedelta(minutes=minutes),
                ambulance_id,
                staff_id,
                status,
                steps,
                pk,
                day,
            )


def escorts_book(
    *,
    days: int = rules.DEFAULT_BOOK_DAYS,
    now: datetime.datetime | None = None,
    schedules: list[int] | None = None,
) -> BookResult:
    """Create the escorts of every active schedule for today and the next days, each once: a
    unique constraint on (schedule, date) skips those that exist, so a second run, a run after
    downtime and a run by hand are all safe (INSERT … ON CONFLICT DO NOTHING after a COPY on
    PostgreSQL, bulk_create(ignore_conflicts) elsewhere). A pickup already gone by is not
    created. Escorts of a schedule with an ambulance are scheduled, the others requested.
    `schedules`: only these (a schedule just resumed)."""
    days = rules.clean_book_days(days)
    now = now or timezone.now()
    today = timezone.localdate(now)
    dates = [today + datetime.timedelta(days=n) for n in range(days)]
    last = dates[-1]
    result = BookResult()
    use_copy = pgcopy.available()
    no_steps: Any = "[]" if use_copy else []  # see history(): made by the job, read from created_at
    wanted = (
        Schedule.objects.filter(status=ScheduleStatus.ACTIVE, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        # A resident who left the register (moved, died) is not fetched any more.
        .filter(resident__left_on__isnull=True)
        .filter(**({"pk__in": schedules} if schedules is not None else {}))
        .order_by("pk")
        .values_list(
            "pk",
            "compound_id",
            "resident_id",
            "kind",
            "weekdays",
            "time",
            "duration_minutes",
            "hospital_id",
            "ambulance_id",
            "staff_id",
            "pickup",
            "start_date",
            "end_date",
        )
    )
    ids = list(wanted.values_list("pk", flat=True))
    result.schedules = len(ids)
    for start in range(0, len(ids), BOOK_CHUNK):
        block = list(wanted.filter(pk__in=ids[start : start + BOOK_CHUNK]))
        rows = list(escort_rows(block, dates, now, result, no_steps))
        with transaction.atomic():
            if use_copy:
                created = pgcopy.insert_new(
                    Escort, BOOK_FIELDS, rows, constants={"created_at": now}
                )
            else:
                scope = Escort.objects.filter(
                    schedule_id__in=[s[0] for s in block], schedule_date__range=(today, last)
                )
                before = scope.count()
                Escort.objects.bulk_create(
                    [
                        Escort(**dict(zip(BOOK_FIELDS, row, strict=True)), created_at=now)
                        for row in rows
                    ],
                    batch_size=2000,
                    ignore_conflicts=True,
                )
                created = scope.count() - before
        result.created += created
        result.existed += len(rows) - created
    if result.created:
        pgcopy.analyze_if_stale({Escort: result.created})
    return result


# An escort claimed this long ago without any SMS belongs to a sweep that died between its
# commit and its send: the next sweep tells it (the keys make it once).
RESEND_AFTER = datetime.timedelta(minutes=2)


RESEND_WINDOW = datetime.timedelta(minutes=30)


def escorts_notify_due(
    *, now: datetime.datetime | None = None, hours: int = 24, batch: int = 500
) -> int:
    """Tell residents and crews of scheduled escorts starting within `hours` that were not told
    yet (the booking job creates them silently). The escorts are claimed by setting notified_at
    under SELECT … FOR UPDATE SKIP LOCKED in a short transaction; their SMS are queued after it
    commits, so nothing of the SMS outbox or its budget is locked across the batch. Each
    message's key names the escort and the phone: a sweep that died before its SMS is made
    good by the next one, never twice."""
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            Escort.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=EscortStatus.SCHEDULED,
                notified_at__isnull=True,
                scheduled_at__gt=now,
                scheduled_at__lte=now + datetime.timedelta(hours=hours),
            )
            .select_related("resident", "hospital", "ambulance", "staff", "compound")
            .order_by("scheduled_at")[:batch]
        )
        Escort.objects.filter(pk__in=[e.pk for e in due]).update(notified_at=now)
    for escort in due:
        sent += notify.escort_booked(escort)
    _notify_missing(now=now)
    return sent


def _notify_missing(*, now: datetime.datetime) -> None:
    """Escorts claimed in the last half hour (not the last two minutes) of which no SMS was
    written: told now."""
    since, until = now - RESEND_WINDOW, now - RESEND_AFTER
    claimed = Escort.objects.filter(
        status=EscortStatus.SCHEDULED, notified_at__gte=since, notified_at__lt=until
    )
    if not claimed.exists():
        return
    told = set()
    for key in Message.objects.filter(
        purpose=notify.PURPOSE, created_at__gte=since - RESEND_AFTER
    ).values_list("idempotency_key", flat=True):
        parts = (key or "").split(":")
        if len(parts) > 2 and parts[2].isdigit():
            told.add(int(parts[2]))
    for escort in claimed.exclude(pk__in=told).select_related(
        "resident", "hospital", "ambulance", "staff", "compound"
    ):
        notify.escort_booked(escort)
