"""Pages of orders: the list, entry at the desk (a buy's order, a proxy purchase), one order,
its status and payment."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require
from accounts.http import AuthedHttpRequest
from compounds.models import Building, Compound
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.iters import natural_key
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import choice_param, int_param

from .. import rules, selectors, services
from ..forms import (
    AddressForm,
    PaymentForm,
    ProxyForm,
)
from ..models import (
    OrderStatus,
)
from ._common import _address_form, _buy, _household, _order


@login_required
def orders(request: AuthedHttpRequest) -> HttpResponse:
    """Every order in reach, filtered by status, building, compound, group buy, vulnerable,
    overdue."""
    params = request.GET
    qs = selectors.order_list(
        user=request.user,
        status=choice_param(params, "status", OrderStatus.values),
        building=int_param(params, "building"),
        compound=int_param(params, "compound"),
        group_buy=int_param(params, "group_buy"),
        vulnerable=params.get("vulnerable") == "1",
        overdue=params.get("overdue") == "1",
    )
    page = CappedPaginator(qs, 50).get_page(int_param(params, "page") or 1)
    query = params.copy()
    query.pop("page", None)
    return render(
        request,
        "supplies/orders.html",
        {
            "page": page,
            "statuses": OrderStatus.choices,
            "buildings": sorted(
                Building.objects.visible_to(request.user)
                .select_related("compound")
                .order_by("compound__name", "number")[:300],
                key=lambda b: (b.compound.name, natural_key(b.number)),
            ),
            "params": params,
            "query": query.urlencode(),
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
def order_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The secretary (or a volunteer on the phone) enters a household's order."""
    buy = _buy(request, pk, organise=False)
    require(rules.may_enter_orders(request.user))
    items = list(buy.items.all())
    form = _address_form(request, AddressForm, buy.compounds.all())
    quantities = {item.pk: request.POST.get(f"q{item.pk}", "") for item in items}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = _household(request.user, data)
            order = services.order_submit(
                by=request.user,
                household=household,
                group_buy=buy,
                quantities=quantities,
                client_key=data["client_key"],
                phone=data["phone"],
                note=data["note"],
                urgent=data["urgent"],
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(
                request,
                _("Order for %(address)s: %(amount)s yuan.")
                % {"address": household.address, "amount": order.amount_due},
            )
            return redirect("supplies:order_add", pk=buy.pk)
    return render(
        request,
        "supplies/order_form.html",
        {
            "buy": buy,
            "form": form,
            "items": [(item, quantities.get(item.pk, "")) for item in items],
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def proxy_add(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_enter_orders(request.user))
    form = _address_form(request, ProxyForm, Compound.objects.visible_to(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = _household(request.user, data)
            order = services.proxy_submit(
                by=request.user,
                household=household,
                items=data["items"],
                urgency=data["urgency"],
                estimate=data["estimate"],
                client_key=data["client_key"],
                phone=data["phone"],
                note=data["note"],
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Proxy purchase recorded."))
            return redirect("supplies:order", pk=order.pk)
    return render(
        request,
        "supplies/proxy_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def order_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    may = rules.may_organise(request.user)
    steps = [
        (s, OrderStatus(s).label)
        for s in rules.ORDER.targets(order.status, by=request.user, obj=order)
        if s in rules.SET_BY_ORGANISER
    ]
    return render(
        request,
        "supplies/order_detail.html",
        {
            "order": order,
            "lines": list(order.lines.select_related("item")),
            "events": list(order.events.select_related("by")),
            "proxy": getattr(order, "proxy", None) if order.kind == "proxy" else None,
            "vulnerable": selectors.vulnerable_households([order.household_id]).get(
                order.household_id, []
            ),
            "may_organise": may,
            "steps": steps if may else [],
            "payment_form": PaymentForm(
                initial={"method": order.payment_method or "wechat", "paid": True}
            )
            if may
            else None,
        },
    )


@login_required
@require_POST
def order_status(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk, organise=True)
    to = choice_param(request.POST, "to", OrderStatus.values)
    try:
        services.order_set_status(
            by=request.user,
            order=order,
            to=to,
            note=request.POST.get("note", ""),
            receipt_amount=request.POST.get("receipt_amount"),
        )
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(request, _("Status changed."))
    return redirect("supplies:order", pk=order.pk)


@login_required
@require_POST
def order_pay(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk, organise=True)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.order_record_payment(
                by=request.user,
                order=order,
                method=form.cleaned_data["method"],
                paid=form.cleaned_data["paid"],
            )
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(request, _("Payment recorded."))
    else:
        messages.error(request, _("Choose how it is paid."))
    if request.POST.get("next") == "reconciliation" and order.group_buy_id:
        return redirect("supplies:reconciliation", pk=order.group_buy_id)
    return redirect("supplies:order", pk=order.pk)


@login_required
@require_POST
def order_unpay(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Undo a payment recorded by mistake (its history keeps who did it and what it was)."""
    order = _order(request, pk, organise=True)
    try:
        services.order_undo_payment(by=request.user, order=order)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(
            request, _("Payment undone: order #%(pk)d is unpaid again.") % {"pk": order.pk}
        )
    if request.POST.get("next") == "reconciliation" and order.group_buy_id:
        return redirect("supplies:reconciliation", pk=order.group_buy_id)
    return redirect("supplies:order", pk=order.pk)
