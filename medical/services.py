"""Writes on escorts, schedules and emergencies. The pages, the API, the booking job, the
management command and seed_demo all call these."""

import datetime
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Compound
from messaging.models import Message
from residents.models import LeftReason, Resident
from residents.services import task_call_record
from wuyi.lib import cn, pgcopy
from wuyi.lib.errors import Refused
from wuyi.lib.localday import aware

from . import notify, rules
from .models import (
    BUSY_STATUSES,
    OPEN_STATUSES,
    SERVICE_OF_KIND,
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
    Schedule,
    ScheduleStatus,
)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise PermissionDenied(message)


def _hm(at: datetime.datetime) -> str:
    return timezone.localtime(at).strftime("%m-%d %H:%M")


def _step(status: str, by: User | None, at: datetime.datetime, note: str = "") -> dict[str, Any]:
    step: dict[str, Any] = {
        "status": status,
        "at": at.isoformat(),
        "by": by.pk if by is not None else None,
        "by_name": by.display_name if by is not None else "",
    }
    if note:
        step["note"] = note
    return step


AUTO = "自动预约"


def history(escort: Escort) -> list[dict[str, Any]]:
    """The escort's steps, oldest first. An escort the booking job made carries none of its
    own (87,000 copies of the same two steps would only slow the job down) until its first
    change: its requested (and, when the job gave it an ambulance, scheduled) step is read
    from when it was made."""
    if escort.steps or escort.schedule_id is None:
        return list(escort.steps)
    made = {"status": EscortStatus.REQUESTED, "at": escort.created_at.isoformat(), "by": None,
            "by_name": AUTO}  # fmt: skip
    steps = [made]
    if escort.status != EscortStatus.REQUESTED:
        steps.append({**made, "status": EscortStatus.SCHEDULED})
    return steps


def _require_visible(by: User, model: Any, pk: int) -> None:
    """The row lies in the user's jurisdiction (the pages and the API load it so; a service
    called otherwise checks it too)."""
    if not model.objects.visible_to(by).filter(pk=pk).exists():
        raise PermissionDenied(_("This lies outside your jurisdiction."))


def _resident_in_reach(by: User, resident: Resident) -> Resident:
    """The resident as the user may see them; outside the jurisdiction is refused (and named
    as such: the form offers only residents the user sees, so this is a forged request)."""
    found = (
        Resident.objects.visible_to(by)
        .select_related("household__building")
        .filter(pk=resident.pk, left_on__isnull=True)
        .first()
    )
    if found is None:
        raise Refused(_("This resident is not in your jurisdiction."), field="resident")
    return found


def pickup_of(resident: Resident) -> str:
    """Where the ambulance stops and the crew goes up: building, unit and room (a crew
    climbing a sealed building cannot ring round for the door)."""
    household = resident.household
    number = household.building.number
    label = f"{number}号楼" if str(number).isdigit() else str(number)
    return label + (f"{household.unit}单元" if household.unit else "") + household.room


def escort_call(*, by: User, escort: Escort) -> str:
    """The patient's number for the crew, the escort or the secretary, to call from the job:
    recorded in the personal-data log like a call from the register. Refused: someone not on
    the job; a resident with no phone."""
    _require(rules.may_move(by, escort), _("Only the crew of this escort may call the patient."))
    resident = escort.resident
    return task_call_record(
        by=by,
        compound_id=escort.compound_id,
        phone=resident.phone,
        via=f"medical.escort:{escort.pk}",
        resident=resident,
    )


def designated_hospital(compound: Compound, kind: str) -> Hospital | None:
    """The hospital designated for the compound (before one designated for its district) that
    offers the kind's service."""
    service = SERVICE_OF_KIND.get(kind)
    candidates = list(
        Hospital.objects.filter(active=True)
        .filter(Q(compounds=compound) | Q(districts=compound.district_id))
        .distinct()
        .prefetch_related("compounds")
        .order_by("name")
    )
    candidates.sort(key=lambda h: compound not in h.compounds.all())
    for hospital in candidates:
        if service is None or hospital.offers(service):
            return hospital
    return candidates[0] if candidates else None


def _check_hospital(by: User, hospital: Hospital | None, kind: str) -> None:
    if hospital is None:
        raise Refused(_("Choose the hospital."), field="hospital")
    if not Hospital.objects.visible_to(by).filter(pk=hospital.pk, active=True).exists():
        raise Refused(_("Choose a hospital designated for this compound."), field="hospital")
    service = SERVICE_OF_KIND.get(kind)
    if service and hospital.services and not hospital.offers(service):
        raise Refused(
            _("%(hospital)s does not offer %(service)s.")
            % {"hospital": hospital, "service": dict(EscortKind.choices)[kind]},
            field="hospital",
        )


def _serves(ambulance: Ambulance, compound_id: int) -> bool:
    return (
        ambulance.compound_id == compound_id
        or ambulance.also_serves.filter(pk=compound_id).exists()
    )


def _check_resources(
    *,
    compound_id: int,
    ambulance: Ambulance | None,
    staff: MedicalStaff | None,
    start: datetime.datetime,
    end: datetime.datetime,
    exclude: int | None = None,
) -> None:
    """The ambulance and the escort serve the compound and have no other job in the time
    (a job still holding them: scheduled, dispatched or at hospital). The clash is named."""
    if ambulance is not None:
        if ambulance.status == AmbulanceStatus.OUT_OF_SERVICE:
            raise Refused(
                _("Ambulance %(plate)s is out of service.") % {"plate": ambulance.plate},
                field="ambulance",
            )
        if not _serves(ambulance, compound_id):
            raise Refused(_("Choose an ambulance of this compound."), field="ambulance")
    if staff is not None and (staff.compound_id != compound_id or not staff.active):
        raise Refused(_("Choose a medical worker of this compound."), field="staff")
    for field, resource in (("ambulance", ambulance), ("staff", staff)):
        if resource is None:
            continue
        jobs = Escort.objects.filter(**{field: resource}).filter(
            status__in=BUSY_STATUSES, scheduled_at__lt=end, expected_return_at__gt=start
        )
        if exclude is not None:
            jobs = jobs.exclude(pk=exclude)
        clash = jobs.select_related("resident").order_by("scheduled_at").first()
        if clash is not None:
            who = str(resource)
            if field == "ambulance":
                who = _("Ambulance %(name)s") % {"name": who}
            raise Refused(
                _("%(who)s is already booked %(start)s–%(end)s (escort of %(resident)s).")
                % {
                    "who": who,
                    "start": _hm(clash.scheduled_at),
                    "end": timezone.localtime(clash.expected_return_at).strftime("%H:%M"),
                    "resident": clash.resident.name,
                },
                field=field,
                code="clash",
            )


# ----------------------------------------------------------------------------- one-off escorts


def escort_book(
    *,
    by: User,
    resident: Resident,
    kind: str,
    hospital: Hospital | None,
    scheduled_at: datetime.datetime,
    duration_minutes: Any = 240,
    ambulance: Ambulance | None = None,
    staff: MedicalStaff | None = None,
    pickup: Any = "",
    notes: Any = "",
    now: datetime.datetime | None = None,
) -> Escort:
    """Book one escort. With an ambulance it is scheduled (and the resident and crew are told);
    without, requested. Refused: a resident outside the jurisdiction, the past (emergencies
    are logged with emergency_report), an ambulance or escort with an overlapping job."""
    _require(rules.may_organise(by), _("Escorts are booked by the community secretary."))
    now = now or timezone.now()
    if kind not in EscortKind.values or kind == EscortKind.EMERGENCY:
        raise Refused(
            _("Choose the kind of escort (emergencies have their own form)."), field="kind"
        )
    resident = _resident_in_reach(by, resident)
    rules.check_time(scheduled_at, now, emergency=False)
    minutes = rules.clean_duration(duration_minutes)
    _check_hospital(by, hospital, kind)
    try:
        pickup = cn.clean_text(pickup, max_length=60, field="pickup") or pickup_of(resident)
        notes = cn.clean_text(notes, max_length=500, field="notes")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field) from None
    end = scheduled_at + datetime.timedelta(minutes=minutes)
    with transaction.atomic():
        # A double submit books once: the resident's row lock orders the two requests, and
        # the second finds the first (the same resident, kind and pickup time, still open).
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        same = Escort.objects.filter(
            resident=resident, kind=kind, scheduled_at=scheduled_at, status__in=OPEN_STATUSES
        ).first()
        if same is not None:
            return same
        # Lock the resources: two secretaries booking the same ambulance at once get one job.
        if ambulance is not None:
            ambulance = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
        if staff is not None:
            staff = MedicalStaff.objects.select_for_update().get(pk=staff.pk)
        _check_resources(
            compound_id=resident.compound_id,
            ambulance=ambulance,
            staff=staff,
            start=scheduled_at,
            end=end,
        )
        steps = [_step(EscortStatus.REQUESTED, by, now)]
        status = EscortStatus.REQUESTED
        if ambulance is not None:
            status = EscortStatus.SCHEDULED
            steps.append(_step(EscortStatus.SCHEDULED, by, now))
        escort = Escort.objects.create(
            compound_id=resident.compound_id,
            resident=resident,
            kind=kind,
            pickup=pickup,
            hospital=hospital,
            scheduled_at=scheduled_at,
            expected_return_at=end,
            ambulance=ambulance,
            staff=staff,
            status=status,
            steps=steps,
            notes=notes,
            created_by=by,
        )
        if status == EscortStatus.SCHEDULED:
            transaction.on_commit(lambda: escort_notify(escort=escort))
    return escort


def escort_assign(
    *, by: User, escort: Escort, ambulance: Ambulance, staff: MedicalStaff | None = None
) -> Escort:
    """Give a requested (or scheduled) escort its ambulance and escort: scheduled."""
    _require(rules.may_organise(by), _("Escorts are booked by the community secretary."))
    if ambulance is None:
        raise Refused(_("Choose the ambulance."), field="ambulance")
    _require_visible(by, Escort, escort.pk)
    now = timezone.now()
    with transaction.atomic():
        locked = Escort.objects.select_for_update().get(pk=escort.pk)
        if locked.status != EscortStatus.SCHEDULED:  # a scheduled one may change its crew
            rules.ESCORT.check(locked.status, EscortStatus.SCHEDULED, by=by, obj=locked)
        ambulance = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
        _check_resources(
            compound_id=locked.compound_id,
            ambulance=ambulance,
            staff=staff,
            start=locked.scheduled_at,
            end=locked.expected_return_at,
            exclude=locked.pk,
        )
        locked.ambulance, locked.staff = ambulance, staff
        if locked.status == EscortStatus.REQUESTED:
            locked.status = EscortStatus.SCHEDULED
            locked.steps = [*history(locked), _step(EscortStatus.SCHEDULED, by, now)]
        locked.save(update_fields=["ambulance", "staff", "status", "steps"])
        transaction.on_commit(lambda: escort_notify(escort=locked))
    return locked


def escort_advance(
    *, by: User, escort: Escort, to: str, outcome: Any = "", note: Any = ""
) -> Escort:
    """One step along requested → scheduled → dispatched → at hospital → returned (or
    cancelled, admitted). A step that skips one is refused, as is dispatching without an
    ambulance. Dispatch puts the ambulance on a job; closing frees it."""
    try:
        outcome = cn.clean_text(outcome, max_length=200, field="outcome")
        note = cn.clean_text(note, max_length=200, field="note")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field) from None
    now = timezone.now()
    with transaction.atomic():
        # The row lock: two taps (two phones, a double submit) make one step.
        locked = (
            Escort.objects.select_for_update(of=("self",))
            .select_related("ambulance", "staff")
            .get(pk=escort.pk)
        )
        _require(
            rules.may_move(by, locked), _("Only the escort's crew and secretary move it along.")
        )
        _require_visible(by, Escort, locked.pk)
        if to == locked.status:
            return locked  # a second tap of the same step changes nothing
        rules.ESCORT.check(locked.status, to, by=by, obj=locked)
        if to == EscortStatus.SCHEDULED:
            raise Refused(_("Give the escort an ambulance to schedule it."), field="ambulance")
        if to == EscortStatus.DISPATCHED and locked.ambulance_id is None:
            raise Refused(
                _("Give the escort an ambulance before dispatching it."), field="ambulance"
            )
        locked.status = to
        locked.steps = [*history(locked), _step(to, by, now, note)]
        fields = ["status", "steps"]
        if to == EscortStatus.DISPATCHED:
            locked.dispatched_at = now
            fields.append("dispatched_at")
            _put_on_job(cast(Ambulance, locked.ambulance))
        if to in (EscortStatus.RETURNED, EscortStatus.CANCELLED, EscortStatus.ADMITTED):
            locked.closed_at = now
            fields.append("closed_at")
            if outcome:
                locked.outcome = outcome
                fields.append("outcome")
            if locked.ambulance_id is not None and locked.dispatched_at is not None:
                _free_ambulance(locked.ambulance_id, but=locked.pk)
        locked.save(update_fields=fields)
    return locked


def _put_on_job(ambulance: Ambulance) -> None:
    """The ambulance goes out (already out on another job: it stays so). Out of service: the
    graph refuses, and the dispatch with it."""
    if ambulance.status != AmbulanceStatus.ON_JOB:
        rules.AMBULANCE.check(ambulance.status, AmbulanceStatus.ON_JOB)
    Ambulance.objects.filter(pk=ambulance.pk).update(status=AmbulanceStatus.ON_JOB)


def _free_ambulance(ambulance_id: int, *, but: int) -> None:
    """Back to available, unless another job of it is still on the road."""
    on_road = (
        Escort.objects.filter(
            ambulance_id=ambulance_id,
            status__in=(EscortStatus.DISPATCHED, EscortStatus.AT_HOSPITAL),
        )
        .exclude(pk=but)
        .exists()
    )
    if not on_road:
        rules.AMBULANCE.check(AmbulanceStatus.ON_JOB, AmbulanceStatus.AVAILABLE)
        Ambulance.objects.filter(pk=ambulance_id, status=AmbulanceStatus.ON_JOB).update(
            status=AmbulanceStatus.AVAILABLE
        )


def check_ambulance_move(current: str, status: str, *, by: User) -> None:
    """What ambulance_set_status refuses (the admin's form asks it before saving)."""
    rules.AMBULANCE.check(current, status)  # the graph first: its message names the moves
    if AmbulanceStatus.ON_JOB in (status, current):
        raise Refused(_("An ambulance goes on and off a job with its escorts."), field="status")
    rules.AMBULANCE.check(current, status, by=by)


def ambulance_set_status(*, by: User, ambulance: Ambulance, status: str) -> Ambulance:
    """Take an ambulance out of service or put it back (rules.AMBULANCE). On a job and back
    is the escorts' doing: refused here."""
    _require_visible(by, Ambulance, ambulance.pk)
    with transaction.atomic():
        locked = Ambulance.objects.select_for_update().get(pk=ambulance.pk)
        if status == locked.status:
            return locked
        check_ambulance_move(locked.status, status, by=by)
        locked.status = status
        locked.save(update_fields=["status"])
    return locked


def escort_notify(*, escort: Escort) -> int:
    """The pickup time to the resident (and a family member's phone), the job to the crew.
    Idempotent per escort and phone; marks the escort notified."""
    sent = notify.escort_booked(escort)
    Escort.objects.filter(pk=escort.pk, notified_at__isnull=True).update(notified_at=timezone.now())
    return sent


# ----------------------------------------------------------------------------- emergencies

# The same resident and symptom reported again this soon is the same emergency.
DOUBLE_SUBMIT = datetime.timedelta(minutes=5)


def nearest_free_ambulance(
    compound: Compound, *, start: datetime.datetime, minutes: int = rules.EMERGENCY_MINUTES
) -> Ambulance | None:
    """An available ambulance with no booked job in the next two hours: the compound's own
    first, then those that also serve it, then the community's, then the sub-district's.
    Locked (the caller is inside a transaction) and skipping ones another dispatch holds."""
    end = start + datetime.timedelta(minutes=minutes)
    busy = (
        Escort.objects.filter(
            status__in=BUSY_STATUSES, scheduled_at__lt=end, expected_return_at__gt=start
        )
        .filter(ambulance__isnull=False)
        .values("ambulance_id")
    )
    tiers = (
        Q(compound=compound),
        Q(also_serves=compound),
        Q(compound__community_id=compound.community_id),
        Q(compound__subdistrict_id=compound.subdistrict_id),
    )
    for tier in tiers:
        ids = list(
            Ambulance.objects.filter(tier, status=AmbulanceStatus.AVAILABLE)
            .exclude(pk__in=busy)
            .order_by("plate")
            .values_list("pk", flat=True)
        )
        if not ids:
            continue
        found = (
            Ambulance.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=AmbulanceStatus.AVAILABLE)
            .order_by("plate")
            .first()
        )
        if found is not None:
            return found
    return None


def emergency_report(
    *,
    by: User,
    resident: Resident,
    symptom: Any,
    at: datetime.datetime | None = None,
    hospital: Hospital | None = None,
    dispatch: bool = True,
) -> Escort:
    """An emergency from the one-screen form: logged and, when it is happening now, given the
    nearest free ambulance and dispatched. Logged after the fact (`at` in the past): recorded,
    not dispatched. Refused: a resident outside the jurisdiction, a time in the future."""
    _require(
        rules.may_report_emergency(by),
        _("Emergencies are reported by the secretary or the medical worker."),
    )
    now = timezone.now()
    at = at or now
    resident = _resident_in_reach(by, resident)
    rules.check_time(at, now, emergency=True)
    try:
        symptom = cn.clean_text(symptom, max_length=200, field="symptom")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="symptom") from None
    if not symptom:
        raise Refused(_("Say what happened, e.g. 胸痛、呼吸困难."), field="symptom")
    compound = resident.compound
    hospital = hospital or designated_hospital(compound, EscortKind.EMERGENCY)
    with transaction.atomic():
        # A double submit (two taps, a form sent again) is the same emergency: the resident's
        # row lock orders the two, and the second finds the first.
        Resident.objects.select_for_update().filter(pk=resident.pk).first()
        same = (
            Escort.objects.filter(
                resident=resident,
                kind=EscortKind.EMERGENCY,
                symptom=symptom,
                created_at__gte=now - DOUBLE_SUBMIT,
            )
            .order_by("pk")
            .first()
        )
        if same is not None:
            return same
        escort = Escort.objects.create(
            compound=compound,
            resident=resident,
            kind=EscortKind.EMERGENCY,
            pickup=pickup_of(resident),
            hospital=hospital,
            scheduled_at=at,
            expected_return_at=at + datetime.timedelta(minutes=rules.EMERGENCY_MINUTES),
            symptom=symptom,
            steps=[_step(EscortStatus.REQUESTED, by, now)],
            created_by=by,
        )
        live = at >= now - rules.PAST_GRACE
        if dispatch and live:
            ambulance = nearest_free_ambulance(compound, start=at)
            if ambulance is not None:
                escort = _dispatch(escort, ambulance, by, now)
        if live:
            notify.emergency_reported(escort, by=by)
    return escort


def _dispatch(escort: Escort, ambulance: Ambulance, by: User, now: datetime.datetime) -> Escort:
    """Both steps at once, requested → scheduled → dispatched, each checked on the graph."""
    rules.ESCORT.check(escort.status, EscortStatus.SCHEDULED, by=by, obj=escort)
    rules.ESCORT.check(EscortStatus.SCHEDULED, EscortStatus.DISPATCHED, by=by, obj=escort)
    escort.ambulance = ambulance
    escort.staff = (
        MedicalStaff.objects.filter(compound_id=escort.compound_id, active=True)
        .order_by("pk")
        .first()
    )
    escort.status = EscortStatus.DISPATCHED
    escort.dispatched_at = now
    escort.steps = [
        *history(escort),
        _step(EscortStatus.SCHEDULED, by, now),
        _step(EscortStatus.DISPATCHED, by, now),
    ]
    escort.save(update_fields=["ambulance", "staff", "status", "dispatched_at", "steps"])
    _put_on_job(ambulance)
    transaction.on_commit(lambda: escort_notify(escort=escort))
    return escort


def emergency_dispatch(*, by: User, escort: Escort) -> Escort:
    """Dispatch the nearest free ambulance to an open emergency that has none yet (no free
    ambulance when it was reported). A second dispatch is refused."""
    _require(
        rules.may_report_emergency(by),
        _("Emergencies are reported by the secretary or the medical worker."),
    )
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Escort.objects.select_for_update(of=("self",))
            .select_related("compound")
            .get(pk=escort.pk)
        )
        _require_visible(by, Escort, locked.pk)
        if locked.kind != EscortKind.EMERGENCY:
            raise Refused(_("Only an emergency is dispatched from here."))
        if locked.status != EscortStatus.REQUESTED or locked.ambulance_id is not None:
            raise Refused(
                _("This emergency was dispatched already (%(plate)s).")
                % {"plate": locked.ambulance.plate if locked.ambulance else "—"},
                code="dispatched",
            )
        ambulance = nearest_free_ambulance(locked.compound, start=now)
        if ambulance is None:
            raise Refused(_("No ambulance is free near this compound; call 120."), code="none_free")
        return _dispatch(locked, ambulance, by, now)


# ----------------------------------------------------------------------------- schedules


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


# ----------------------------------------------------------------------------- the booking job


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


# ----------------------------------------------------------------------------- residents leaving

DEPARTED = "by_departure"  # marks the cancel step of an escort whose resident left


def escorts_cancel_for_departure(
    *, by: User | None, resident: Resident, reason: str, on: datetime.date
) -> tuple[int, int]:
    """A resident left the register (moved out, deceased, entered by mistake): their escorts
    not yet under way from that day on (Asia/Shanghai) are cancelled, each step saying why, and
    their active schedules paused, so the booking job makes no more. Escorts already on the
    road are left to their crew. Their medical worker hears of each cancelled one in the app.
    Runs in the caller's transaction (the residents' resident_left signal). Returns
    (escorts cancelled, schedules paused)."""
    now = timezone.now()
    # Kept in the escort's steps for everyone who reads them: in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        label = str(LeftReason(reason).label) if reason in LeftReason.values else reason
        why = _("the resident left the register (%(reason)s)") % {"reason": label}
    coming = list(
        Escort.objects.select_for_update(of=("self",))
        .filter(
            resident_id=resident.pk,
            status__in=(EscortStatus.REQUESTED, EscortStatus.SCHEDULED),
            scheduled_at__gte=aware(on, datetime.time(0)),
        )
        .select_related("staff__user", "resident")
        .order_by("scheduled_at", "pk")
    )
    for escort in coming:
        # The register's consequence, whoever recorded the departure: the graph alone.
        rules.ESCORT.check(escort.status, EscortStatus.CANCELLED)
        escort.status = EscortStatus.CANCELLED
        escort.closed_at = now
        escort.outcome = why[:200]
        escort.steps = [
            *history(escort),
            {**_step(EscortStatus.CANCELLED, by, now, why), DEPARTED: True},
        ]
        escort.save(update_fields=["status", "closed_at", "outcome", "steps"])
    rules.SCHEDULE.check(ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
    paused = Schedule.objects.filter(resident_id=resident.pk, status=ScheduleStatus.ACTIVE).update(
        status=ScheduleStatus.PAUSED
    )
    notify.escorts_cancelled_for_departure(coming, reason=why)
    return len(coming), paused


def on_resident_left(*, resident: Resident, by: User | None, reason: str, on, **kwargs) -> None:
    """The receiver of residents.signals.resident_left (connected in MedicalConfig.ready)."""
    escorts_cancel_for_departure(by=by, resident=resident, reason=reason, on=on)
