"""One-off escorts: booked, given their ambulance, moved along (rules.ESCORT); ambulances on
and off a job and out of service (rules.AMBULANCE)."""

import datetime
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from residents.models import Resident
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from .. import notify, rules
from ..models import (
    OPEN_STATUSES,
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
)
from .common import (
    _check_hospital,
    _check_resources,
    _require,
    _require_visible,
    _resident_in_reach,
    _step,
    history,
    pickup_of,
)


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
