"""Pages: the secretary's group-buy board, order entry, picking lists and reconciliation; the
volunteer's deliveries on the phone; the district's figures."""

import datetime
import io
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404
from accounts.http import AuthedHttpRequest
from compounds.models import Building, Compound
from residents import selectors as residents_selectors
from residents.models import Household
from volunteers.registry import ERRAND, Task
from wuyi.lib import photos
from wuyi.lib.downloads import attach
from wuyi.lib.durations import minutes_text
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.iters import natural_key
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import choice_param, int_param
from wuyi.lib.public import is_local, public_url
from wuyi.lib.qr import qr_svg
from wuyi.lib.spreadsheets import write_xlsx

from . import rules, selectors, services
from .forms import (
    AddressForm,
    CatalogueItemForm,
    DeliverForm,
    GroupBuyForm,
    PaymentForm,
    ProxyForm,
    SupplierForm,
)
from .models import (
    CatalogueItem,
    DeliveredHow,
    DeliveryRule,
    GroupBuy,
    GroupBuyStatus,
    Order,
    OrderLink,
    OrderStatus,
    Proof,
    Supplier,
)


def _organiser(request: AuthedHttpRequest) -> None:
    if not rules.may_organise(request.user):
        raise PermissionDenied(_("Supplies are organised by the community secretary."))


def _buy(request: AuthedHttpRequest, pk: int, *, organise: bool = False) -> GroupBuy:
    return get_visible_or_404(
        GroupBuy.objects.select_related("supplier", "community"),
        request.user,
        pk=pk,
        may=rules.may_organise if organise else None,
    )


def _order(request: AuthedHttpRequest, pk: int, *, organise: bool = False) -> Order:
    return get_visible_or_404(
        Order.objects.select_related("household", "building", "compound", "group_buy"),
        request.user,
        pk=pk,
        may=rules.may_organise if organise else None,
    )


def _household(user: Any, data: dict) -> Household:
    """The household at the address the form gives, among those the user sees."""
    found = residents_selectors.household_at(
        building=data["building"], unit=data.get("unit") or "", room=data["room"], by=user
    )
    if found is None:
        raise Refused(
            _("No household at this address in the register: add it there first."), field="room"
        )
    return found


# ----------------------------------------------------------------------------- the board


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
            "next_status": rules.GROUP_BUY_STEPS.get(buy.status),
            "next_label": GroupBuyStatus(rules.GROUP_BUY_STEPS[buy.status]).label
            if buy.status in rules.GROUP_BUY_STEPS
            else "",
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
    if not rules.may_read_figures(request.user):
        raise PermissionDenied
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
    if not rules.may_read_figures(request.user):
        raise PermissionDenied
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


# ----------------------------------------------------------------------------- orders


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


def _address_form(request: AuthedHttpRequest, form_class, compounds, **kwargs):
    buildings = (
        Building.objects.visible_to(request.user)
        .filter(compound__in=compounds)
        .select_related("compound")
        .order_by("compound__name", "number")
    )
    return form_class(request.POST or None, buildings=buildings, **kwargs)


@login_required
def order_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The secretary (or a volunteer on the phone) enters a household's order."""
    buy = _buy(request, pk, organise=False)
    if not rules.may_enter_orders(request.user):
        raise PermissionDenied
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
    if not rules.may_enter_orders(request.user):
        raise PermissionDenied
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
        for s in rules.ORDER_STEPS[order.status]
        if s in (OrderStatus.ACCEPTED, OrderStatus.PURCHASED, OrderStatus.CANCELLED)
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


# ----------------------------------------------------------------------------- deliveries


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


# ----------------------------------------------------------------------------- district


@login_required
def figures(request: AuthedHttpRequest) -> HttpResponse:
    if not rules.may_read_figures(request.user):
        raise PermissionDenied
    figures = selectors.district_figures(user=request.user)
    return render(
        request,
        "supplies/figures.html",
        {"f": figures, "median": minutes_text(figures.median_minutes)},
    )


# ----------------------------------------------------------------------------- plugged in below


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """Deliveries in 今日任务 (registered in SuppliesConfig.ready): one row per building the
    user carries orders to, then one per building waiting to be claimed. Two queries."""
    if getattr(user, "role", None) != "volunteer" or day != timezone.localdate():
        return []
    url = reverse("supplies:deliveries")
    tasks: list[Task] = []
    carried: dict[int, list[Order]] = {}
    for order in selectors.my_deliveries(user=user):
        carried.setdefault(order.building_id, []).append(order)
    for building_id, orders in carried.items():
        first = orders[0]
        tasks.append(
            Task(
                key=f"delivery:{building_id}",
                kind=_("Delivery"),
                title=f"{first.building.number}号楼",
                detail=_("%(count)d to bring · %(compound)s")
                % {"count": len(orders), "compound": first.compound.name},
                url=url,
                rank=10,
            )
        )
    for batch in selectors.delivery_batches(user=user):
        tasks.append(
            Task(
                key=f"delivery-wait:{batch.building_id}",
                kind=_("Delivery"),
                title=batch.label,
                detail=_("%(count)d waiting to be claimed · %(compound)s")
                % {"count": batch.waiting, "compound": batch.compound},
                url=url,
                rank=ERRAND,
            )
        )
    return tasks


# ----------------------------------------------------------------------------- residents' link


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
        action = request.POST.get("action", "")
        phone = str(request.POST.get("phone", ""))[:20]
        door = {name: str(request.POST.get(name, ""))[:30] for name in door}
        try:
            if action == "phone":
                # Answers alike and at once for any number: the lookup and the SMS happen on
                # the worker (services.self_code_request).
                building_id = int_param(request.POST, "building")
                services.self_code_request(
                    link=link,
                    phone=phone,
                    building=Building.objects.filter(
                        pk=building_id, compound_id=link.compound_id
                    ).first()
                    if building_id is not None
                    else None,
                    unit=door["unit"],
                    room=door["room"],
                )
                step = "code"
            elif action == "code":
                step = "code"
                found = services.self_code_check(
                    link=link, phone=phone, code=request.POST.get("code", "")
                )
                request.session[SELF_KEY] = {
                    "link": link.pk,
                    "household": found.pk,
                    "until": timezone.now().timestamp() + rules.SELF_SESSION_MINUTES * 60,
                }
                return redirect("supplies:self", token=token)
            elif action == "order" and household is not None:
                buy = get_object_or_404(
                    GroupBuy, pk=int_param(request.POST, "buy"), compounds=link.compound
                )
                quantities = {
                    item.pk: request.POST.get(f"q{item.pk}", "") for item in buy.items.all()
                }
                services.order_submit(
                    by=None,
                    link=link,
                    household=household,
                    group_buy=buy,
                    quantities=quantities,
                    client_key=str(request.POST.get("client_key", ""))[:64],
                )
                messages.success(
                    request,
                    _("Your order is in. You will get a code by SMS when it is on its way."),
                )
                return redirect("supplies:self", token=token)
        except Refused as refused:
            error = str(refused.message)
    buys = []
    orders = []
    if household is not None:
        step = "order"
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
    return render(
        request,
        "supplies/self_order.html",
        {
            "link": link,
            "step": step,
            "phone": phone,
            "door": door,
            "buildings": buildings,
            "error": error,
            "household": household,
            "buys": buys,
            "orders": orders,
            "payment_note": DeliveryRule.objects.filter(compound_id=link.compound_id)
            .values_list("payment_note", flat=True)
            .first()
            or "",
        },
        status=400 if error else 200,
    )


def compound_panel(user: Any, compound: Compound):
    """Supplies on the compound page: open orders, failed deliveries, group buys taking
    orders (two queries); nothing when the compound never had an order."""
    from compounds.registry import CompoundPanel

    counts = Order.objects.filter(compound=compound).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=selectors.OPEN_STATUSES)),
        failed=Count("pk", filter=Q(status=OrderStatus.FAILED)),
    )
    if not counts["total"]:
        return None
    buys = GroupBuy.objects.filter(
        compounds=compound, status=GroupBuyStatus.OPEN, deadline__gt=timezone.now()
    ).count()
    return CompoundPanel(
        template="supplies/_compound_panel.html",
        context={"compound": compound, "counts": counts, "buys": buys},
        order=40,
    )
