"""The household's own link (no account): one per household, texted to its numbers, opened with
a code sent to one of them (residents.codes, the check the ordering link uses too), then the
actions the apps registered (residents.registry.household_actions). Renewing (a lost phone)
voids the old link, which then answers exactly as an unknown link does. Every action is
logged (HouseholdActionLog).

Upper apps' action pages are served behind the link's checks by `serve_action` (the
registry's HouseholdAction.view): the token (404 when unknown or void), the household's proof,
whether the action is offered now, and a log line for every action.
"""

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from . import codes, notify, registry, rules
from .models import Household, HouseholdActionLog, HouseholdLink, Resident

CODE_PURPOSE = "household"
# Requests for a code one household link takes an hour, all its numbers together.
CODES_PER_LINK_HOUR = 10
# A household that proved itself acts for half an hour before the code is asked again.
SESSION_MINUTES = 30
SESSION_KEY = "household_link"
DETAIL_MAX = 200


def member_of(link: HouseholdLink, resident: Resident | None, message: str) -> Resident:
    """`resident`, when a current member of the link's household (what a household's action
    is about); else Refused with `message`, on the field "resident"."""
    if resident is None or resident.household_id != link.household_id or not resident.is_current:
        raise Refused(message, field="resident")
    return resident


def lock_link(link: HouseholdLink) -> None:
    """Inside the caller's transaction: the link's row locked until it commits, so that a
    renewal waits for the action and the action sees a renewal; Refused when the link is no
    longer in use."""
    if not HouseholdLink.objects.select_for_update().filter(pk=link.pk, active=True).exists():
        raise Refused(_("This link is no longer in use."))


def _phones(household: Household) -> list[str]:
    found = (
        Resident.objects.filter(household=household, left_on__isnull=True)
        .exclude(phone="")
        .order_by("pk")
        .values_list("phone", flat=True)
    )
    return list(dict.fromkeys(found))


def household_link_renew(
    *, by: User, household: Household, site: str, now: Any = None
) -> tuple[HouseholdLink, int]:
    """A new link for the household, texted to each of its current numbers; the one before
    (if any) is void from now on. The secretary, from the household's page. `site` is the
    public address's scheme and host the link opens on. Returns the link and how many SMS
    were queued (0: the template is not approved).
    Refused: a household without a mobile number on the register (nobody could receive
    it); a public address longer than an SMS value holds (the old link stays valid)."""
    if not rules.may_edit_register(by):
        raise PermissionDenied(_("Household links are sent by the community secretary."))
    now = now or timezone.now()
    phones = [p for p in _phones(household) if cn.is_mobile(p)]
    if not phones:
        raise Refused(_("Nobody in this household has a mobile number on the register."))
    if not notify.site_fits(site):
        too_long = {"site": site.rstrip("/"), "max": notify.VALUE_MAX}
        raise Refused(notify.MSG_SITE_TOO_LONG % too_long)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                HouseholdLink.objects.filter(household=household, active=True).update(
                    active=False, voided_at=now
                )
                link = HouseholdLink.objects.create(
                    household=household,
                    compound_id=household.compound_id,
                    # 32 characters: an SMS value takes 35.
                    token=secrets.token_urlsafe(24),
                    created_by=by,
                    created_at=now,
                )
                sent = notify.household_link(
                    phones=phones,
                    site=site.rstrip("/"),
                    token=link.token,
                    compound=household.compound,
                    key=f"residents:household-link:{link.pk}",
                )
            return link, sent
        except IntegrityError:
            # Another renewal of the same household committed between our update and insert
            # (the partial unique constraint): renew again over it.
            continue
    raise Refused(_("The link is being renewed by someone else: try again."))


def _gate(link: HouseholdLink) -> codes.Gate:
    def lock() -> bool:
        return HouseholdLink.objects.select_for_update().filter(pk=link.pk, active=True).exists()

    return codes.Gate(
        purpose=CODE_PURPOSE,
        link_id=link.pk,
        compound_id=link.compound_id,
        per_link_hour=CODES_PER_LINK_HOUR,
        lock=lock,
        household_id=link.household_id,
    )


def household_code_request(*, link: HouseholdLink, phone: Any, now: Any = None) -> None:
    """Whoever opened the link asks for a code for their number: texted (on the worker) only
    if a current resident of this household has it; the page answers alike for any number."""
    household = Household.objects.select_related("building").get(pk=link.household_id)
    codes.code_request(
        gate=_gate(link),
        phone=phone,
        building=household.building,
        unit=household.unit,
        room=household.room,
        now=now,
    )


def household_code_check(
    *, link: HouseholdLink, phone: Any, code: Any, now: Any = None
) -> Household:
    """The household, once the code sent to one of its numbers comes back (logged)."""
    household = codes.code_check(gate=_gate(link), phone=phone, code=code, now=now)
    household_action_log(link=link, action="opened", detail="", now=now)
    return household


def household_code_sender(*, phone: str, code: str, compound: Any, key: str) -> None:
    """How a household link's code is texted (registered with residents.codes)."""
    notify.household_code(phone=phone, code=code, compound=compound, key=key)


def household_action_log(
    *, link: HouseholdLink, action: str, detail: Any = "", now: Any = None
) -> HouseholdActionLog:
    """One line of what the household did through its link (no number, no code)."""
    # Written by the apps from values they checked already: one line, cut to fit.
    text = " ".join(str(detail or "").split())[:DETAIL_MAX]
    return HouseholdActionLog.objects.create(
        household_id=link.household_id,
        compound_id=link.compound_id,
        link=link,
        action=action[:40],
        detail=text,
        at=now or timezone.now(),
    )


# ----------------------------------------------------------------------------- the pages' check


def link_or_404(token: str) -> HouseholdLink:
    """The active link with this token; an unknown and a void token answer the same 404."""
    link = (
        HouseholdLink.objects.select_related("household__building", "compound")
        .filter(token=str(token)[:64], active=True)
        .first()
    )
    if link is None:
        raise Http404
    return link


def remember(request: HttpRequest, link: HouseholdLink) -> None:
    request.session[SESSION_KEY] = {
        "link": link.pk,
        "until": timezone.now().timestamp() + SESSION_MINUTES * 60,
    }


def forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def proved(request: HttpRequest, link: HouseholdLink) -> bool:
    """This browser proved the household with a code in the last SESSION_MINUTES, through this
    very link (a renewed link asks again)."""
    data = request.session.get(SESSION_KEY) or {}
    return data.get("link") == link.pk and data.get("until", 0) >= timezone.now().timestamp()


def action_url(link: HouseholdLink, key: str) -> str:
    """Where an action of the household's link is served (residents.household_views)."""
    return reverse("residents:household_action", args=[link.token, key])


def serve_action(request: HttpRequest, token: str, key: str) -> HttpResponse:
    """An upper app's action page (residents.registry.HouseholdAction.view) behind the link's
    checks: 404 for an unknown or void link and for an action not registered or not offered
    to this household now; the link's page for a visitor who has not proved the household;
    a log line for every POST answered with a redirect (`request.household_log` adds a
    detail)."""
    link = link_or_404(token)
    action = registry.household_action(str(key))
    if action is None:
        raise Http404
    if not proved(request, link):
        return redirect("residents:household_link", token=link.token)
    household = link.household
    if not action.available(household):
        raise Http404
    response = action.view(request, link, household)
    if request.method == "POST" and response.status_code in (302, 303):
        household_action_log(link=link, action=key, detail=getattr(request, "household_log", ""))
    return response
