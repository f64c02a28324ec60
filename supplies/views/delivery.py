"""The volunteer's deliveries on the phone (claim, deliver, call, photo) and the district's
figures."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Building
from wuyi.lib import photos
from wuyi.lib.durations import minutes_text
from wuyi.lib.errors import Refused
from wuyi.lib.params import choice_param, int_param

from .. import rules, selectors, services
from ..forms import (
    DeliverForm,
)
from ..models import (
    DeliveredHow,
    DeliveryRule,
    GroupBuy,
    GroupBuyStatus,
    Order,
    Proof,
)
from ._common import _order


@login_required
def deliveries(request: AuthedHttpRequest) -> HttpResponse:
    """The volunteer's phone page: buildings waiting (claim a batch) and what they carry."""
    mine = selectors.my_deliveries(user=request.user)
    proofs = dict(
        DeliveryRule.objects.filter(compound_id__in={o.compound_id for o in mine}).values_list(
            "compound_id", "proof"
        )
    )
    # After a refusal (a wrong code) the card comes back with the method the volunteer chose.
    kept_how = choice_param(request.GET, "how", DeliveredHow.values)
    kept_for = int_param(request.GET, "order")
    for order in mine:
        order.proof = proofs.get(order.compound_id, Proof.CODE)  # type: ignore[attr-defined]
        order.how = (  # type: ignore[attr-defined]
            kept_how if kept_how and order.pk == kept_for else DeliveredHow.LEFT_AT_DOOR
        )
    return render(
        request,
        "supplies/deliveries.html",
        {
            "batches": selectors.delivery_batches(user=request.user),
            "mine": mine,
            "open_buys": GroupBuy.objects.visible_to(request.user)
            .filter(status=GroupBuyStatus.OPEN, deadline__gt=timezone.now())
            .order_by("deadline")[:10]
            if rules.may_enter_orders(request.user)
            else [],
            "form": DeliverForm(),
            "max_attempts": rules.MAX_CODE_ATTEMPTS,
        },
    )


@login_required
@require_POST
def claim(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    building = get_visible_or_404(Building, request.user, pk=pk)
    try:
        claimed = services.orders_claim(by=request.user, building=building)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        if claimed:
            messages.success(request, _("You carry %(count)d orders.") % {"count": len(claimed)})
        else:
            messages.warning(request, _("Someone else took these orders already."))
    return redirect("supplies:deliveries")


@login_required
@require_POST
@photos.accepts_photo
def deliver(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    form = DeliverForm(request.POST)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    action = request.POST.get("action", "delivered")
    try:
        if action == "failed":
            services.order_mark_failed(by=request.user, order=order)
            messages.warning(request, _("Marked as not delivered; it can be tried again."))
        elif action == "resend":
            services.order_resend_code(by=request.user, order=order)
            messages.success(request, _("A new code was sent to the household."))
        elif action == "release":
            services.order_release(by=request.user, order=order)
            messages.success(request, _("Given back."))
        else:
            services.order_mark_delivered(
                by=request.user,
                order=order,
                how=data.get("how", ""),
                code=data.get("code", ""),
                photo=request.FILES.get("photo"),
            )
            messages.success(request, _("Delivered. Thank you."))
    except Refused as refused:
        messages.error(request, str(refused.message))
        if action == "delivered" and data.get("how"):
            query = urlencode({"order": order.pk, "how": data["how"]})
            return redirect(f"{reverse('supplies:deliveries')}?{query}#order-{order.pk}")
    return redirect("supplies:deliveries")


@login_required
@require_POST
def order_call(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One tap from the delivery card: the call is recorded and the phone dials the household
    (the number appears nowhere on the page)."""
    order = _order(request, pk)
    try:
        phone = services.order_call(by=request.user, order=order)
    except Refused as refused:
        messages.error(request, str(refused.message))
        return redirect("supplies:deliveries")
    response = HttpResponse(status=303)
    response["Location"] = "tel:" + phone.replace("-", "")
    return response


@login_required
def order_photo(request: AuthedHttpRequest, pk: int) -> FileResponse:
    order = get_visible_or_404(Order, request.user, pk=pk)
    if not order.photo:
        raise Http404
    extension = str(order.photo.name).rsplit(".", 1)[-1]
    kind = photos.PHOTO_TYPES.get(extension, "application/octet-stream")
    response = FileResponse(order.photo.open("rb"), content_type=kind)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def figures(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read_figures(request.user))
    figures = selectors.district_figures(user=request.user)
    return render(
        request,
        "supplies/figures.html",
        {"f": figures, "median": minutes_text(figures.median_minutes)},
    )
