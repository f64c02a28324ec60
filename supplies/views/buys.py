"""Pages of group buys: the board, suppliers and catalogue, a buy, its picking list and
reconciliation."""

import datetime
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require
from accounts.http import AuthedHttpRequest
from compounds.models import Compound
from wuyi.lib.downloads import attach
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import choice_param, int_param
from wuyi.lib.spreadsheets import write_xlsx

from .. import rules, selectors, services
from ..forms import (
    CatalogueItemForm,
    GroupBuyForm,
    SupplierForm,
)
from ..models import (
    CatalogueItem,
    GroupBuy,
    GroupBuyStatus,
    Order,
    OrderStatus,
    Supplier,
)
from ._common import _buy, _organiser


@login_required
def board(request: AuthedHttpRequest) -> HttpResponse:
    """Group buys, newest first, with their order counts."""
    status = choice_param(request.GET, "status", GroupBuyStatus.values)
    buys = GroupBuy.objects.visible_to(request.user).select_related("supplier")
    if status:
        buys = buys.filter(status=status)
    buys = buys.annotate(
        order_count=Count("orders", filter=~Q(orders__status=OrderStatus.CANCELLED))
    ).order_by("-deadline", "-pk")
    page = CappedPaginator(buys, 30).get_page(int_param(request.GET, "page") or 1)
    return render(
        request,
        "supplies/board.html",
        {
            "page": page,
            "status": status,
            "statuses": GroupBuyStatus.choices,
            "may_organise": rules.may_organise(request.user),
            "may_read": rules.may_read_figures(request.user),
            "now": timezone.now(),
        },
    )


@login_required
def suppliers(request: AuthedHttpRequest) -> HttpResponse:
    """Suppliers of the user's communities and their catalogue; the secretary adds to both."""
    visible = Supplier.objects.visible_to(request.user).order_by("name")
    may = rules.may_organise(request.user)
    supplier_form = SupplierForm(prefix="s")
    item_form = CatalogueItemForm(prefix="i", suppliers=visible)
    if request.method == "POST":
        _organiser(request)
        try:
            if "s-name" in request.POST:
                supplier_form = SupplierForm(request.POST, prefix="s")
                if supplier_form.is_valid():
                    community = (
                        Compound.objects.visible_to(request.user)
                        .select_related("community")
                        .order_by("community_id")
                        .first()
                    )
                    if community is None:
                        raise PermissionDenied
                    services.supplier_save(
                        by=request.user,
                        community=community.community,
                        **supplier_form.cleaned_data,
                    )
                    messages.success(request, _("Supplier saved."))
                    return redirect("supplies:suppliers")
            else:
                item_form = CatalogueItemForm(request.POST, prefix="i", suppliers=visible)
                if item_form.is_valid():
                    services.catalogue_item_save(by=request.user, **item_form.cleaned_data)
                    messages.success(request, _("Item saved."))
                    return redirect("supplies:suppliers")
        except Refused as refused:
            add_to_form(supplier_form if "s-name" in request.POST else item_form, refused)
    items = CatalogueItem.objects.visible_to(request.user).select_related("supplier")
    by_supplier: dict[int, list[CatalogueItem]] = {}
    for item in items.order_by("supplier_id", "name"):
        by_supplier.setdefault(item.supplier_id, []).append(item)
    rows = [(s, by_supplier.get(s.pk, [])) for s in visible]
    return render(
        request,
        "supplies/suppliers.html",
        {
            "rows": rows,
            "may_organise": may,
            "supplier_form": supplier_form,
            "item_form": item_form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def buy_add(request: AuthedHttpRequest) -> HttpResponse:
    _organiser(request)
    user = request.user
    supplier_qs = Supplier.objects.visible_to(user).filter(active=True).order_by("name")
    form = GroupBuyForm(
        request.POST or None,
        suppliers=supplier_qs,
        compounds=Compound.objects.visible_to(user).order_by("name"),
        items=CatalogueItem.objects.visible_to(user)
        .filter(active=True)
        .select_related("supplier")
        .order_by("supplier__name", "name"),
        initial={
            "deadline": timezone.localtime().replace(second=0, microsecond=0)
            + datetime.timedelta(hours=24),
            "delivery_date": timezone.localdate() + datetime.timedelta(days=2),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            buy = services.group_buy_create(
                by=user,
                community=data["supplier"].community,
                supplier=data["supplier"],
                title=data["title"],
                compounds=list(data["compounds"]),
                deadline=data["deadline"],
                delivery_date=data["delivery_date"],
                items=[(item, None, None) for item in data["items"]],
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Group buy opened."))
            return redirect("supplies:buy", pk=buy.pk)
    return render(
        request,
        "supplies/buy_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def buy_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    buy = _buy(request, pk)
    orders = Order.objects.filter(group_buy=buy)
    next_status = next(iter(rules.GROUP_BUY.allowed(buy.status)), None)
    return render(
        request,
        "supplies/buy_detail.html",
        {
            "buy": buy,
            "items": list(buy.items.all()),
            "compounds": list(buy.compounds.order_by("name")),
            "money": selectors.reconciliation(orders),
            "counts": dict(
                orders.values("status")
                .annotate(n=Count("pk"))
                .order_by()
                .values_list("status", "n")
            ),
            "statuses": OrderStatus.choices,
            "next_status": next_status,
            "next_label": GroupBuyStatus(next_status).label if next_status else "",
            "may_organise": rules.may_organise(request.user),
            "accepts": buy.accepts_orders(),
        },
    )


@login_required
@require_POST
def buy_advance(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    buy = _buy(request, pk, organise=True)
    to = choice_param(request.POST, "to", GroupBuyStatus.values)
    try:
        services.group_buy_advance(by=request.user, group_buy=buy, to=to)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(request, _("Status changed."))
    return redirect("supplies:buy", pk=buy.pk)


@login_required
def picking(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The printable picking list: totals for the supplier, bags per compound, building and
    unit, of the compounds the reader sees."""
    buy = _buy(request, pk)
    return render(
        request,
        "supplies/picking.html",
        {
            "buy": buy,
            "picking": selectors.picking_list(buy, user=request.user),
            "now": timezone.now(),
        },
    )


@login_required
def reconciliation(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    buy = _buy(request, pk)
    require(rules.may_read_figures(request.user))
    orders = Order.objects.filter(group_buy=buy)
    page = CappedPaginator(
        selectors.order_list(user=request.user, group_buy=buy.pk).exclude(
            status=OrderStatus.CANCELLED
        ),
        100,
    ).get_page(int_param(request.GET, "page") or 1)
    return render(
        request,
        "supplies/reconciliation.html",
        {
            "buy": buy,
            "money": selectors.reconciliation(orders),
            "page": page,
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
def reconciliation_xlsx(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The reconciliation as a spreadsheet: formulae escaped, not cached."""
    buy = _buy(request, pk)
    require(rules.may_read_figures(request.user))
    orders = Order.objects.filter(group_buy=buy)
    money = selectors.reconciliation(orders)
    out = io.BytesIO()
    header = [
        _("Order"),
        _("Address"),
        _("Amount due"),
        _("Payment method"),
        _("Paid"),
        _("Status"),
    ]
    rows = list(selectors.reconciliation_rows(orders))
    rows.append([])
    for label, value in (
        (_("Due"), money.due),
        (_("Paid"), money.paid),
        (_("Donated"), money.donated),
        (_("Outstanding"), money.outstanding),
    ):
        rows.append(["", label, value, "", "", ""])
    write_xlsx(out, title=_("Reconciliation"), header=header, rows=rows)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return attach(
        response,
        _("Reconciliation") + f"-{buy.title}.xlsx",
        fallback=f"group-buy-{buy.pk}.xlsx",
    )
