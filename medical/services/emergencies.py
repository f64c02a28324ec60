"""Emergencies: reported from the one-screen form and dispatched to the nearest free ambulance."""

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Compound
from residents.models import Resident
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from .. import notify, rules
from ..models import (
    BUSY_STATUSES,
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
)
from .common import (
    _require,
    _require_visible,
    _resident_in_reach,
    _step,
    designated_hospital,
    history,
    pickup_of,
)
from .escorts import _put_on_job, escort_notify

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
