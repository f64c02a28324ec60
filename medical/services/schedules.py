"""Recurring treatments (dialysis, chemotherapy): saved, paused, resumed and ended
(rules.SCHEDULE)."""

import datetime
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from residents.models import Resident
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    Ambulance,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
    Schedule,
    ScheduleStatus,
)
from .booking import escorts_book
from .common import (
    _check_hospital,
    _require,
    _require_visible,
    _resident_in_reach,
    _serves,
    _step,
    history,
    pickup_of,
)


def _clean_terms(
    by: User,
    resident: Resident,
    kind: str,
    weekdays: Any,
    time: Any,
    duration_minutes: Any,
    start_date: datetime.date,
    end_date: datetime.date | None,
) -> tuple[Resident, list[int], datetime.time, int]:
    """A schedule's terms checked together: every field at fault named at once."""
    errors: dict[str, Any] = {}
    if kind not in EscortKind.values or kind == EscortKind.EMERGENCY:
        errors["kind"] = _("Choose the kind of treatment.")
    try:
        weekdays = rules.clean_weekdays(weekdays)
    except Refused as refused:
        errors["weekdays"] = refused.message
    try:
        minutes = rules.clean_duration(duration_minutes)
    except Refused as refused:
        errors["duration_minutes"] = refused.message
    try:
        time = rules.parse_time(time)
    except Refused as refused:
        errors["time"] = refused.message
    if end_date is not None and end_date < start_date:
        errors["end_date"] = _("The end is before the start.")
    try:
        resident = _resident_in_reach(by, resident)
    except Refused as refused:
        errors["resident"] = refused.message
    if errors:
        raise Refused.of_fields(errors)
    return resident, weekdays, time, minutes


def schedule_save(
    *,
    by: User,
    resident: Resident,
    kind: str,
    weekdays: Any,
    time: Any,
    hospital: Hospital | None,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    duration_minutes: Any = 240,
    ambulance: Ambulance | None = None,
    staff: MedicalStaff | None = None,
    pickup: Any = "",
    notes: Any = "",
    schedule: Schedule | None = None,
) -> Schedule:
    """Create or change a recurring treatment (a change re-books its coming escorts that
    are not under way). Refused: no weekday, a resident outside the
    jurisdiction, an end before the start, an ambulance or escort another active schedule
    holds at an overlapping time of the same weekday."""
    _require(rules.may_organise(by), _("Escorts are booked by the community secretary."))
    if schedule is not None:
        _require_visible(by, Schedule, schedule.pk)
    resident, weekdays, time, minutes = _clean_terms(
        by, resident, kind, weekdays, time, duration_minutes, start_date, end_date
    )
    _check_hospital(by, hospital, kind)
    if ambulance is not None or staff is not None:
        _check_schedule_clash(
            compound_id=resident.compound_id,
            ambulance=ambulance,
            staff=staff,
            weekdays=weekdays,
            time=time,
            minutes=minutes,
            exclude=schedule.pk if schedule else None,
        )
    try:
        pickup = cn.clean_text(pickup, max_length=60, field="pickup") or pickup_of(resident)
        notes = cn.clean_text(notes, max_length=200, field="notes")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field) from None
    schedule = schedule or Schedule(created_by=by)
    before = _booking_terms(schedule) if schedule.pk else None
    schedule.compound_id, schedule.resident = resident.compound_id, resident
    schedule.kind, schedule.weekdays, schedule.time = kind, weekdays, time
    schedule.duration_minutes = minutes
    schedule.hospital = cast(Hospital, hospital)  # _check_hospital refused None
    schedule.ambulance, schedule.staff, schedule.pickup, schedule.notes = (
        ambulance,
        staff,
        pickup,
        notes,
    )
    schedule.start_date, schedule.end_date = start_date, end_date
    # Only a change of what the escorts carry re-books them (notes alone do not).
    changed = before is not None and before != _booking_terms(schedule)
    now = timezone.now()
    with transaction.atomic():
        schedule.save()
        if changed:
            # The coming escorts it booked follow the change: those not under way are removed
            # and booked again from the schedule as it now is (new times, new SMS).
            Escort.objects.filter(
                schedule=schedule,
                scheduled_at__gte=now,
                status__in=(EscortStatus.REQUESTED, EscortStatus.SCHEDULED),
            ).delete()
    if changed and schedule.status == ScheduleStatus.ACTIVE:
        escorts_book(schedules=[schedule.pk], now=now)
    return schedule


def _booking_terms(schedule: Schedule) -> tuple:
    return (
        schedule.resident_id,
        schedule.kind,
        list(schedule.weekdays),
        schedule.time,
        schedule.duration_minutes,
        schedule.hospital_id,
        schedule.ambulance_id,
        schedule.staff_id,
        schedule.pickup,
        schedule.start_date,
        schedule.end_date,
    )


def _minutes(at: datetime.time) -> int:
    return at.hour * 60 + at.minute


def _check_schedule_clash(
    *,
    compound_id: int,
    ambulance: Ambulance | None,
    staff: MedicalStaff | None,
    weekdays: list[int],
    time: datetime.time,
    minutes: int,
    exclude: int | None,
) -> None:
    if ambulance is not None and not _serves(ambulance, compound_id):
        raise Refused(_("Choose an ambulance of this compound."), field="ambulance")
    if staff is not None and staff.compound_id != compound_id:
        raise Refused(_("Choose a medical worker of this compound."), field="staff")
    start = _minutes(time)
    for field, resource in (("ambulance", ambulance), ("staff", staff)):
        if resource is None:
            continue
        others = Schedule.objects.filter(**{field: resource}).exclude(status=ScheduleStatus.ENDED)
        if exclude is not None:
            others = others.exclude(pk=exclude)
        others = others.select_related("resident")
        for other in others:
            if not set(other.weekdays) & set(weekdays):
                continue
            o_start = _minutes(other.time)
            if o_start < start + minutes and start < o_start + other.duration_minutes:
                raise Refused(
                    _("%(name)s already takes %(resident)s %(days)s at %(time)s.")
                    % {
                        "name": str(resource),
                        "resident": other.resident.name,
                        "days": other.weekdays_display,
                        "time": other.time.strftime("%H:%M"),
                    },
                    field=field,
                    code="clash",
                )


def schedule_set_status(*, by: User, schedule: Schedule, status: str) -> Schedule:
    """Pause, resume or end a schedule (rules.SCHEDULE; the same status again changes nothing).
    Pausing or ending cancels the escorts it booked that have not started (requested or
    scheduled, from now on), marking them as the schedule's; resuming removes those marked
    ones, so that the booking job books those days again (a day the secretary cancelled
    herself stays cancelled)."""
    _require(rules.may_organise(by), _("Escorts are booked by the community secretary."))
    _require_visible(by, Schedule, schedule.pk)
    now = timezone.now()
    with transaction.atomic():
        current = Schedule.objects.select_for_update().values_list("status", flat=True)
        schedule.status = current.get(pk=schedule.pk)
        if status == schedule.status:
            return schedule
        rules.SCHEDULE.check(schedule.status, status, by=by)
        resumed = schedule.status == ScheduleStatus.PAUSED and status == ScheduleStatus.ACTIVE
        schedule.status = status
        fields = ["status"]
        if status == ScheduleStatus.ENDED and schedule.end_date is None:
            schedule.end_date = timezone.localdate(now)
            fields.append("end_date")
        schedule.save(update_fields=fields)
        ahead = Escort.objects.select_for_update().filter(schedule=schedule, scheduled_at__gte=now)
        if status != ScheduleStatus.ACTIVE:
            _cancel_for_schedule(schedule, ahead, by=by, now=now)
        elif resumed:
            stale = [
                e.pk
                for e in ahead.filter(status=EscortStatus.CANCELLED)
                if e.steps and e.steps[-1].get("by_schedule")
            ]
            Escort.objects.filter(pk__in=stale).delete()
    if resumed:
        escorts_book(schedules=[schedule.pk], now=now)
    return schedule


def _cancel_for_schedule(
    schedule: Schedule, ahead: Any, *, by: User, now: datetime.datetime
) -> None:
    note = _("schedule %(status)s") % {"status": schedule.get_status_display()}
    for escort in ahead.filter(status__in=(EscortStatus.REQUESTED, EscortStatus.SCHEDULED)):
        rules.ESCORT.check(escort.status, EscortStatus.CANCELLED, by=by, obj=escort)
        escort.status = EscortStatus.CANCELLED
        escort.closed_at = now
        escort.steps = [
            *history(escort),
            {**_step(EscortStatus.CANCELLED, by, now, note), "by_schedule": True},
        ]
        escort.save(update_fields=["status", "closed_at", "steps"])
