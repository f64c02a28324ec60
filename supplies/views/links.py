"""The residents' ordering link: the secretary's links and posters, and the public page a
household orders on without an account."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from accounts.http import AuthedHttpRequest
from compounds.models import Building, Compound
from residents.models import Household
from wuyi.lib.errors import Refused
from wuyi.lib.iters import natural_key
from wuyi.lib.params import int_param
from wuyi.lib.public import is_local, public_url
from wuyi.lib.qr import qr_svg

from .. import rules, services
from ..models import (
    DeliveryRule,
    GroupBuy,
    GroupBuyStatus,
    Order,
    OrderLink,
    Proof,
)
from ._common import _organiser


@login_required
def links(request: AuthedHttpRequest) -> HttpResponse:
    """Each compound's ordering link for residents: make one, stop one, print its poster; how
    deliveries are proved and how residents pay."""
    _organiser(request)
    compounds = list(Compound.objects.visible_to(request.user).order_by("name")[:200])
    if request.method == "POST":
        compound = get_visible_or_404(
            Compound, request.user, pk=int_param(request.POST, "compound")
        )
        action = request.POST.get("action")
        try:
            if action == "proof":
                services.delivery_rule_set(
                    by=request.user, compound=compound, proof=request.POST.get("proof", "")
                )
                messages.success(request, _("Saved how deliveries are proved."))
            elif action == "payment":
                services.payment_note_set(
                    by=request.user, compound=compound, note=request.POST.get("payment_note", "")
                )
                messages.success(request, _("Saved how residents pay."))
            elif action == "revoke":
                for link in OrderLink.objects.filter(compound=compound, active=True):
                    services.order_link_revoke(by=request.user, link=link)
                messages.success(request, _("The link no longer works."))
            else:
                services.order_link_get_or_create(by=request.user, compound=compound)
                messages.success(request, _("Link ready: send it to the residents' group."))
        except Refused as refused:
            messages.error(request, str(refused.message))
        return redirect(f"{reverse('supplies:links')}#compound-{compound.pk}")
    active = {
        link.compound_id: link
        for link in OrderLink.objects.filter(compound__in=compounds, active=True)
    }
    rules_of = {r.compound_id: r for r in DeliveryRule.objects.filter(compound__in=compounds)}
    rows = [
        {
            "compound": c,
            "url": _self_url(request, active[c.pk]) if c.pk in active else "",
            "proof": rules_of[c.pk].proof if c.pk in rules_of else Proof.CODE,
            "payment_note": rules_of[c.pk].payment_note if c.pk in rules_of else "",
        }
        for c in compounds
    ]
    site = public_url(request, "/")
    return render(
        request,
        "supplies/links.html",
        {
            "rows": rows,
            "proofs": Proof.choices,
            "site": site,
            "local_address": is_local(site),
        },
    )


def _self_url(request: AuthedHttpRequest, link: OrderLink) -> str:
    return public_url(request, reverse("supplies:self", args=[link.token]))


@login_required
def link_poster(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """An A4 poster for the compound's gate and its residents' group: the ordering link as a
    QR code, the three steps and how to pay."""
    _organiser(request)
    compound = get_visible_or_404(Compound.objects.select_related("community"), request.user, pk=pk)
    link = OrderLink.objects.filter(compound=compound, active=True).first()
    if link is None:
        messages.error(request, _("Make the compound's link first."))
        return redirect("supplies:links")
    url = _self_url(request, link)
    rule = DeliveryRule.objects.filter(compound=compound).first()
    return render(
        request,
        "supplies/link_poster.html",
        {
            "compound": compound,
            "url": url,
            "svg": qr_svg(url, scale=8),
            "payment_note": rule.payment_note if rule else "",
            "site": url,
            "local_address": is_local(url),
        },
    )


SELF_KEY = "supplies_self"


def _self_household(request, link: OrderLink) -> Household | None:
    data = request.session.get(SELF_KEY) or {}
    if data.get("link") != link.pk or data.get("until", 0) < timezone.now().timestamp():
        return None
    household_id = data.get("household")
    if not isinstance(household_id, int):
        return None
    return (
        Household.objects.filter(pk=household_id, compound_id=link.compound_id)
        .select_related("building")
        .first()
    )


def _self_step(
    request, link: OrderLink, household: Household | None, phone: str, door: dict[str, str]
) -> HttpResponse | str:
    """One posted step of the public page: a redirect when it is done, else the step to show
    next. Refused raises."""
    action = request.POST.get("action", "")
    if action == "phone":
        # Answers alike and at once for any number: the lookup and the SMS happen on the
        # worker (services.self_code_request).
        building_id = int_param(request.POST, "building")
        building = (
            Building.objects.filter(pk=building_id, compound_id=link.compound_id).first()
            if building_id is not None
            else None
        )
        services.self_code_request(
            link=link, phone=phone, building=building, unit=door["unit"], room=door["room"]
        )
        return "code"
    if action == "code":
        found = services.self_code_check(link=link, phone=phone, code=request.POST.get("code", ""))
        request.session[SELF_KEY] = {
            "link": link.pk,
            "household": found.pk,
            "until": timezone.now().timestamp() + rules.SELF_SESSION_MINUTES * 60,
        }
        return redirect("supplies:self", token=link.token)
    if action == "order" and household is not None:
        buy = get_object_or_404(
            GroupBuy, pk=int_param(request.POST, "buy"), compounds=link.compound
        )
        quantities = {item.pk: request.POST.get(f"q{item.pk}", "") for item in buy.items.all()}
        services.order_submit(
            by=None,
            link=link,
            household=household,
            group_buy=buy,
            quantities=quantities,
            client_key=str(request.POST.get("client_key", ""))[:64],
        )
        messages.success(
            request, _("Your order is in. You will get a code by SMS when it is on its way.")
        )
        return redirect("supplies:self", token=link.token)
    return "phone"


def _self_shown(link: Any, household: Household | None, step: str) -> dict[str, Any]:
    """What the page lists: the open buys and the household's orders once it proved itself,
    the compound's buildings while it asks for the number. `link` is the compound's ordering
    link or the household's own (both know their compound)."""
    buys: list = []
    orders: list = []
    if household is not None:
        now = timezone.now()
        buys = [
            (b, list(b.items.all()), uuid.uuid4().hex)
            for b in GroupBuy.objects.filter(
                compounds=link.compound, status=GroupBuyStatus.OPEN, deadline__gt=now
            )
            .prefetch_related("items")
            .order_by("deadline")
        ]
        orders = list(
            Order.objects.filter(household=household)
            .select_related("group_buy")
            .order_by("-submitted_at")[:20]
        )
    buildings = (
        sorted(
            Building.objects.filter(compound_id=link.compound_id).only("pk", "number"),
            key=lambda b: natural_key(b.number),
        )
        if step == "phone"
        else []
    )
    return {"buys": buys, "orders": orders, "buildings": buildings}


def self_order(request, token: str) -> HttpResponse:
    """A resident orders without an account: the number on the register, the code sent to it,
    then the compound's open group buys. Public (the link is the way in)."""
    link = OrderLink.objects.select_related("compound").filter(token=token, active=True).first()
    if link is None:
        raise Http404
    household = _self_household(request, link)
    step, phone, error = "phone", "", ""
    door = {"building": "", "unit": "", "room": ""}
    if request.method == "POST":
        phone = str(request.POST.get("phone", ""))[:20]
        door = {name: str(request.POST.get(name, ""))[:30] for name in door}
        try:
            done = _self_step(request, link, household, phone, door)
        except Refused as refused:
            error = str(refused.message)
            # A wrong code keeps the code step; any other refusal shows the step it came from.
            step = "code" if request.POST.get("action") == "code" else "phone"
        else:
            if not isinstance(done, str):
                return done
            step = done
    if household is not None:
        step = "order"
    return render(
        request,
        "supplies/self_order.html",
        {
            "link": link,
            "step": step,
            "phone": phone,
            "door": door,
            "error": error,
            "household": household,
            **_self_shown(link, household, step),
            "payment_note": DeliveryRule.objects.filter(compound_id=link.compound_id)
            .values_list("payment_note", flat=True)
            .first()
            or "",
        },
        status=400 if error else 200,
    )
