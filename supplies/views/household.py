"""Ordering through the household's own link (residents.household): the compound's open group
buys and the household's orders, the same as on the compound's ordering link once a household
proved itself."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from residents.household import action_url
from residents.models import Household, HouseholdLink
from wuyi.lib.errors import Refused
from wuyi.lib.params import int_param

from .. import services
from ..models import DeliveryRule, GroupBuy
from .links import _self_shown

ACTION = "supplies.order"


def household_order(
    request: HttpRequest, link: HouseholdLink, household: Household
) -> HttpResponse:
    error = ""
    if request.method == "POST":
        buy = get_object_or_404(
            GroupBuy, pk=int_param(request.POST, "buy"), compounds=household.compound_id
        )
        quantities = {item.pk: request.POST.get(f"q{item.pk}", "") for item in buy.items.all()}
        try:
            order = services.order_submit(
                by=None,
                household_link=link,
                household=household,
                group_buy=buy,
                quantities=quantities,
                client_key=str(request.POST.get("client_key", ""))[:64],
            )
        except Refused as refused:
            error = str(refused.message)
        else:
            request.household_log = f"{buy.title} #{order.pk}"  # type: ignore[attr-defined]
            messages.success(
                request, _("Your order is in. You will get a code by SMS when it is on its way.")
            )
            return redirect(action_url(link, ACTION))
    return render(
        request,
        "supplies/household_order.html",
        {
            "link": link,
            "household": household,
            "error": error,
            **_self_shown(link, household, "order"),
            "payment_note": DeliveryRule.objects.filter(compound_id=household.compound_id)
            .values_list("payment_note", flat=True)
            .first()
            or "",
        },
        status=400 if error else 200,
    )
