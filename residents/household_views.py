"""The household's own link: the public page a household opens with a code and acts from, and
the secretary's renewal from the household's page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from wuyi.lib.errors import Refused
from wuyi.lib.public import public_url

from . import household as links
from . import registry
from .models import Household, HouseholdActionLog
from .rules import may_edit_register, may_read_register


def household_link(request: HttpRequest, token: str) -> HttpResponse:
    """A household's own page (public: the link is the way in). The number on the register,
    the code sent to it, then what the apps offer this household. An unknown or renewed-away
    link is a 404."""
    link = links.link_or_404(token)
    step, phone, error = "phone", "", ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        phone = str(request.POST.get("phone", ""))[:20]
        try:
            if action == "phone":
                links.household_code_request(link=link, phone=phone)
                step = "code"
            elif action == "code":
                links.household_code_check(link=link, phone=phone, code=request.POST.get("code"))
                links.remember(request, link)
                return redirect("residents:household_link", token=link.token)
            elif action == "leave":
                links.forget(request)
                return redirect("residents:household_link", token=link.token)
        except Refused as refused:
            error = str(refused.message)
            step = "code" if action == "code" else "phone"
    household = link.household if links.proved(request, link) else None
    actions = []
    info: list[registry.HouseholdInfo] = []
    log: list[HouseholdActionLog] = []
    if household is not None:
        step = "home"
        actions = [
            (action, links.action_url(link, action.key))
            for action in registry.household_actions(household)
        ]
        info = registry.household_info(household)
        log = list(HouseholdActionLog.objects.filter(link=link).order_by("-at")[:10])
        for entry in log:
            entry.label = registry.household_action_label(entry.action)  # type: ignore[attr-defined]
    return render(
        request,
        "residents/household_link.html",
        {
            "link": link,
            "compound": link.compound,
            "step": step,
            "phone": phone,
            "error": error,
            "household": household,
            "actions": actions,
            "info": info,
            "log": log,
        },
        status=400 if error else 200,
    )


def household_action(request: HttpRequest, token: str, action: str) -> HttpResponse:
    """One action of the household's link, an upper app's page behind the link's checks."""
    return links.serve_action(request, token, action)


@login_required
@require_POST
def household_link_renew(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The secretary sends the household a new link (a lost phone, a first link); the old one
    stops working at once."""
    household = get_visible_or_404(
        Household.objects.select_related("compound", "building"), request.user, pk=pk
    )
    require(
        may_edit_register(request.user),
        _("Household links are sent by the community secretary."),
        hide=not may_read_register(request.user),  # a volunteer: the register is not theirs
    )
    try:
        _link, sent = links.household_link_renew(
            by=request.user, household=household, site=public_url(request, "/")
        )
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        if sent:
            messages.success(
                request, _("A new link was texted to the household; the old one no longer works.")
            )
        else:
            messages.warning(
                request,
                _(
                    "A new link was made and the old one no longer works, but no SMS could be "
                    "sent: ask the administrator to approve the link's text."
                ),
            )
    return redirect("residents:household", pk=household.pk)
