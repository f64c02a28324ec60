"""The SMS an escort sends, through messaging (floor 2): the pickup time to the resident and
one family member's phone, the job to the crew (driver and escort).

The texts are provider-approved templates, created unapproved by migration 0002: an operator
enters the provider's code and approves them (seed_demo approves them with demo codes). A
template missing or not approved does not stop the booking: the log says which template to
approve (no phone number, no name). Every message's idempotency key names the escort and the
phone, so a retry, a second sweep or a double submit never sends twice.
"""

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import alert_raise, in_site_language
from messaging.alerts import alert_staff
from messaging.services import notify_by_sms
from residents.models import Resident

from .models import Escort, EscortKind, MedicalStaff

PICKUP = "转运接送通知"
CREW = "转运任务通知"
PURPOSE = "medical_escort"


def _send(**kwargs: Any) -> int:
    return notify_by_sms(purpose=PURPOSE, cut=True, **kwargs)


def family_phone(resident: Resident) -> str:
    """The phone of another current member of the household, if any."""
    return (
        Resident.objects.filter(household_id=resident.household_id, left_on__isnull=True)
        .exclude(pk=resident.pk)
        .exclude(phone="")
        .order_by("pk")
        .values_list("phone", flat=True)
        .first()
        or ""
    )


def escort_booked(escort: Escort) -> int:
    """Send the pickup and the job; returns how many messages were queued."""
    resident = escort.resident
    when = timezone.localtime(escort.scheduled_at).strftime("%m月%d日%H:%M")
    kind = str(EscortKind(escort.kind).label)
    hospital = str(escort.hospital) if escort.hospital else "—"
    urgent = escort.kind == EscortKind.EMERGENCY
    sent = 0
    if not urgent:
        for phone in {resident.phone, family_phone(resident)} - {""}:
            sent += _send(
                to=phone,
                template=PICKUP,
                variables={"name": resident.name, "time": when, "pickup": escort.pickup,
                           "hospital": hospital},
                idempotency_key=f"medical:pickup:{escort.pk}:{phone}",
                place=escort.compound,
                urgent=False,
            )  # fmt: skip
    crew = set()
    if escort.ambulance is not None and escort.ambulance.driver_phone:
        crew.add(escort.ambulance.driver_phone)
    if escort.staff is not None and escort.staff.phone:
        crew.add(escort.staff.phone)
    for phone in sorted(crew):
        sent += _send(
            to=phone,
            template=CREW,
            variables={
                "time": when,
                "place": f"{escort.compound.name}{escort.pickup}",
                "name": resident.name,
                "kind": kind,
                "hospital": hospital,
            },
            idempotency_key=f"medical:crew:{escort.pk}:{phone}",
            place=escort.compound,
            urgent=urgent,
        )
    return sent


# ----------------------------------------------------------------------------- in-app alerts


@in_site_language
def emergency_reported(escort: Escort, *, by: Any) -> int:
    """An emergency under the bell of the compound's secretaries and its medical workers with
    an account (not the one who reported it): urgent, linking to the escort. Returns how many
    were told."""
    text = _("Emergency at %(compound)s %(pickup)s: %(name)s, %(symptom)s. %(state)s") % {
        "compound": escort.compound.name,
        "pickup": escort.pickup,
        "name": escort.resident.name,
        "symptom": escort.symptom,
        "state": _("Ambulance %(plate)s dispatched.") % {"plate": escort.ambulance.plate}
        if escort.ambulance_id is not None and escort.ambulance is not None
        else _("No ambulance dispatched yet."),
    }
    key = f"medical:emergency:{escort.pk}"
    link = reverse("medical:escort", args=[escort.pk])
    skip = [by.pk] if getattr(by, "pk", None) else []
    told = alert_staff(
        compound_id=escort.compound_id,
        role=Role.SECRETARY,
        text=text,
        key=key,
        link=link,
        severity=Severity.URGENT,
        but=skip,
    )
    medics = (
        MedicalStaff.objects.filter(compound_id=escort.compound_id, active=True, user__isnull=False)
        .exclude(user_id__in=skip)
        .select_related("user")
    )
    for staff in medics:
        if staff.user is not None and staff.user.is_active:
            alert_raise(to=staff.user, text=text, key=key, link=link, severity=Severity.URGENT)
            told.append(staff.user)
    return len(told)


@in_site_language
def escorts_cancelled_for_departure(escorts: list[Escort], *, reason: str) -> int:
    """The crew of each cancelled escort (its medical worker's account) hears of it in the app:
    they were told of the job by SMS. Returns how many alerts were raised."""
    raised = 0
    for escort in escorts:
        staff = escort.staff
        if staff is None or staff.user is None or not staff.user.is_active:
            continue
        when = timezone.localtime(escort.scheduled_at).strftime("%m-%d %H:%M")
        alert_raise(
            to=staff.user,
            text=_("Escort of %(name)s on %(when)s cancelled: %(reason)s.")
            % {"name": escort.resident.name, "when": when, "reason": reason},
            key=f"medical:cancelled:{escort.pk}",
            link=reverse("medical:escort", args=[escort.pk]),
            severity=Severity.INFO,
        )
        raised += 1
    return raised
