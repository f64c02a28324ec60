"""A household sends the committee a need or a question through its own link
(residents.household): a Need on the secretary's list, as a volunteer's check would bring,
with an in-app alert to the compound's secretary."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from messaging.alerts import alert_staff
from residents.household import action_url, lock_link, member_of
from residents.models import Household, HouseholdLink, Resident
from residents.registry import HouseholdAction
from wuyi.lib.errors import Refused

from . import rules
from .models import Need, NeedKind, NeedStatus

ACTION = "care.need"
# What a household may send: supplies it lacks, or a word (a question, a worry) for the
# committee; an escort has its own action (medical).
KINDS = [NeedKind.SUPPLIES, NeedKind.NOTE]
# Open needs one household may have waiting at once.
MAX_OPEN = 5


def need_send(*, link: HouseholdLink, resident: Resident | None, kind: Any, text: Any) -> Need:
    """The household's need or question, for the secretary (alerted once it commits). Refused:
    a person not of this household, a kind it may not send, an empty text, control
    characters or more than NOTE_MAX characters, too many open needs, a link no longer in
    use."""
    resident = member_of(link, resident, _("Choose who it is about."))
    if kind not in [k.value for k in KINDS]:
        raise Refused(_("Choose what kind of need it is."), field="kind")
    text = rules.clean_note(text, field="text")
    if not text:
        raise Refused(rules.MSG_NEED_EMPTY, field="text")
    with transaction.atomic():
        lock_link(link)
        waiting = Need.objects.filter(
            resident__household_id=link.household_id, status=NeedStatus.OPEN
        )
        if waiting.count() >= MAX_OPEN:
            raise Refused(
                _("Your household has %(n)d messages waiting: the committee will answer first.")
                % {"n": MAX_OPEN}
            )
        need = Need.objects.create(
            compound_id=resident.compound_id, resident=resident, kind=kind, text=text
        )
        transaction.on_commit(lambda: _tell_secretary(need))
    return need


def _tell_secretary(need: Need) -> None:
    alert_staff(
        compound_id=need.compound_id,
        role=Role.SECRETARY,
        text=_("A household sent a message through its link (%(kind)s): %(text)s")
        % {"kind": need.get_kind_display(), "text": need.text[:60]},
        key=f"care:household-need:{need.pk}",
        link=reverse("care:needs"),
    )


def household_need(request: HttpRequest, link: HouseholdLink, household: Household) -> HttpResponse:
    """The household's page to send a need or a question, with what it sent and its state."""
    people = list(Resident.objects.current().filter(household=household).order_by("pk"))
    error = ""
    text = ""
    if request.method == "POST":
        chosen = {str(p.pk): p for p in people}.get(str(request.POST.get("resident", "")))
        text = str(request.POST.get("text", ""))[:2000]
        try:
            need = need_send(
                link=link, resident=chosen, kind=request.POST.get("kind", ""), text=text
            )
        except Refused as refused:
            error = str(refused.message)
        else:
            request.household_log = f"{need.get_kind_display()}: {need.text[:60]}"  # type: ignore[attr-defined]
            messages.success(request, _("Sent to the committee."))
            return redirect(action_url(link, ACTION))
    sent = list(
        Need.objects.filter(resident__household=household)
        .select_related("resident")
        .order_by("-created_at")[:10]
    )
    return render(
        request,
        "care/household_need.html",
        {
            "link": link,
            "household": household,
            "people": people,
            "kinds": KINDS,
            "sent": sent,
            "text": text,
            "error": error,
        },
        status=400 if error else 200,
    )


NEED_ACTION = HouseholdAction(
    key=ACTION,
    label=gettext_lazy("Send a need or a question to the committee"),
    view=household_need,
    order=30,
)
