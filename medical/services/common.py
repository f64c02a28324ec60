"""What the medical services share: the escort's steps, the jurisdiction checks, the pickup, the
designated hospital and the clash check of an ambulance or escort."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Compound, address_label
from residents.models import Resident
from residents.services import task_call_record
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    BUSY_STATUSES,
    SERVICE_OF_KIND,
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
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
    return address_label(household.building.number, household.unit, household.room)


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
