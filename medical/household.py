"""A household asks for an escort to hospital through its own link (residents.household): the
request is an escort in `requested`, without ambulance or crew, that the secretary confirms
(books its ambulance: rules.ESCORT) or cancels from the escort list; she is alerted in the
app. An emergency is not asked for here: the page says to call 120."""

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import active
from accounts.models import Role, User
from messaging.alerts import alert_staff
from residents.household import action_url, lock_link, member_of
from residents.models import Household, HouseholdLink, Resident
from residents.registry import HouseholdAction, NeedTurn
from wuyi.lib import cn
from wuyi.lib.errors import Refused
from wuyi.lib.localday import aware

from . import rules
from .models import OPEN_STATUSES, Escort, EscortKind, EscortStatus
from .services.common import _require, _step, pickup_of

ACTION = "medical.escort"
# What a household may ask for (an emergency is 120's).
KINDS = [k for k in EscortKind if k != EscortKind.EMERGENCY]
# A household's open requests at once: enough for a family, not a flood for the secretary.
MAX_OPEN_REQUESTS = 3
DEFAULT_MINUTES = 240
REQUESTERS = {Role.SECRETARY, Role.VOLUNTEER, Role.MEDIC}


def escort_request(
    *,
    link: HouseholdLink,
    resident: Resident | None,
    kind: Any,
    scheduled_at: datetime.datetime | None,
    notes: Any = "",
    now: datetime.datetime | None = None,
) -> Escort:
    """A household's request for an escort: `requested`, for the secretary to confirm. The
    same request twice (a double submit) is one. Refused: a person not of this household, a
    kind it may not ask for, a time in the past or too far ahead, control characters or too
    long a note, too many open requests, a link no longer in use."""
    now = now or timezone.now()
    resident = member_of(link, resident, _("Choose who is going."))
    if kind not in [k.value for k in KINDS]:
        raise Refused(_("Choose what the escort is for."), field="kind")
    if scheduled_at is None:
        raise Refused(_("Give the day and time of the appointment."), field="scheduled_at")
    rules.check_time(scheduled_at, now, emergency=False)
    try:
        notes = cn.clean_text(notes, max_length=500, field="notes")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field) from None
    with transaction.atomic():
        lock_link(link)
        return _open_request(
            resident=resident,
            kind=kind,
            scheduled_at=scheduled_at,
            notes=notes,
            by=None,
            note=_("asked for by the household"),
            now=now,
        )


def _open_request(
    *,
    resident: Resident,
    kind: str,
    scheduled_at: datetime.datetime,
    notes: str,
    by: User | None,
    note: str,
    now: datetime.datetime,
) -> Escort:
    """The escort in `requested`, inside the caller's transaction; the secretary is alerted
    once it commits. The same request still open (a double submit) is returned as it is."""
    Resident.objects.select_for_update().filter(pk=resident.pk).first()
    open_requests = Escort.objects.filter(
        resident__household_id=resident.household_id, status__in=OPEN_STATUSES
    )
    same = open_requests.filter(resident=resident, kind=kind, scheduled_at=scheduled_at).first()
    if same is not None:
        return same
    if open_requests.filter(status=EscortStatus.REQUESTED).count() >= MAX_OPEN_REQUESTS:
        raise Refused(
            _("Your household has %(n)d requests waiting: the committee will call you.")
            % {"n": MAX_OPEN_REQUESTS}
        )
    escort = Escort.objects.create(
        compound_id=resident.compound_id,
        resident=resident,
        kind=kind,
        pickup=pickup_of(resident),
        scheduled_at=scheduled_at,
        expected_return_at=scheduled_at + datetime.timedelta(minutes=DEFAULT_MINUTES),
        status=EscortStatus.REQUESTED,
        steps=[_step(EscortStatus.REQUESTED, by, now, note=note)],
        notes=notes,
        created_by=by,
    )
    transaction.on_commit(lambda: _tell_secretary(escort))
    return escort


def may_request(user: Any) -> bool:
    """Who may turn a resident's need into an escort request for the secretary to confirm:
    the secretary, a volunteer at the door, a medical worker."""
    return active(user) and (user.is_superuser or user.role in REQUESTERS)


def need_to_escort(*, by: User, resident: Resident, text: str, key: str, when: Any = None) -> str:
    """A resident's need for an escort (a welfare check's, residents.registry.NeedTurn) as an
    escort request in one tap, `when` the day and time given with the tap (tomorrow 09:00
    when none): the secretary confirms it, with the resident, as any request. Refused: a
    resident out of reach, a time in the past or too far ahead."""
    _require(may_request(by), _("Your role does not ask for escorts."))
    if not Resident.objects.visible_to(by).filter(pk=resident.pk).exists():
        raise PermissionDenied(_("This resident is outside your compounds."))
    now = timezone.now()
    at = when or aware(timezone.localdate(now) + datetime.timedelta(days=1), datetime.time(9))
    rules.check_time(at, now, emergency=False)
    try:
        notes = cn.clean_text(text, max_length=500, field="notes")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field) from None
    with transaction.atomic():
        escort = _open_request(
            resident=resident,
            kind=EscortKind.OTHER,
            scheduled_at=at,
            notes=notes,
            by=by,
            note=_("from a welfare check's need"),
            now=now,
        )
    del key  # one escort per need: care locks the need, and a double tap finds the same one
    return _("Escort request #%(pk)d") % {"pk": escort.pk}


def _tell_secretary(escort: Escort) -> None:
    alert_staff(
        compound_id=escort.compound_id,
        role=Role.SECRETARY,
        text=_("%(pickup)s asks for an escort (%(kind)s) on %(at)s: confirm it or call back.")
        % {
            "pickup": escort.pickup,
            "kind": escort.get_kind_display(),
            "at": timezone.localtime(escort.scheduled_at).strftime("%m-%d %H:%M"),
        },
        key=f"medical:household-request:{escort.pk}",
        link=reverse("medical:escort", args=[escort.pk]),
    )


def household_escort(
    request: HttpRequest, link: HouseholdLink, household: Household
) -> HttpResponse:
    """The household's escort page: ask for one, see its requests and their state."""
    people = list(Resident.objects.current().filter(household=household).order_by("pk"))
    error = ""
    if request.method == "POST":
        chosen = {str(p.pk): p for p in people}.get(str(request.POST.get("resident", "")))
        raw = str(request.POST.get("scheduled_at", ""))[:20]
        try:
            at = parse_datetime(raw)
        except ValueError:
            at = None
        if at is not None and timezone.is_naive(at):
            at = timezone.make_aware(at)
        try:
            escort = escort_request(
                link=link,
                resident=chosen,
                kind=request.POST.get("kind", ""),
                scheduled_at=at,
                notes=request.POST.get("notes", ""),
            )
        except Refused as refused:
            error = str(refused.message)
        else:
            request.household_log = (  # type: ignore[attr-defined]
                f"{escort.get_kind_display()} {timezone.localtime(escort.scheduled_at):%m-%d %H:%M}"
            )
            messages.success(
                request, _("Your request is with the committee: they will confirm it by phone.")
            )
            return redirect(action_url(link, ACTION))
    escorts = list(
        Escort.objects.filter(resident__household=household)
        .select_related("resident")
        .order_by("-scheduled_at")[:10]
    )
    return render(
        request,
        "medical/household_escort.html",
        {
            "link": link,
            "household": household,
            "people": people,
            "kinds": KINDS,
            "escorts": escorts,
            "error": error,
        },
        status=400 if error else 200,
    )


ESCORT_ACTION = HouseholdAction(
    key=ACTION,
    label=gettext_lazy("Ask for an escort to hospital"),
    view=household_escort,
    order=20,
)


NEED_TURN = NeedTurn(
    kind="escort",
    label=gettext_lazy("Ask for an escort"),
    make=need_to_escort,
    may=may_request,
    asks_when=True,
)
