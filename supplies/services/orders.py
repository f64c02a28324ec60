"""Orders entered (at the desk, by a volunteer, through the residents' link) and proxy
purchases; the secretary's moves (rules.ORDER) and payments."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from residents.models import Household
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    GroupBuy,
    Order,
    OrderKind,
    OrderLine,
    OrderLink,
    OrderStatus,
    PaymentMethod,
    ProxyPurchase,
    Urgency,
)
from .common import _event, _phone, _require_organiser, _text


def _check_household(by: Any, household: Household) -> None:
    if not rules.may_enter_orders(by):
        raise PermissionDenied(_("Orders are entered by the secretary or a volunteer."))
    if not Household.objects.visible_to(by).filter(pk=household.pk).exists():
        raise PermissionDenied(_("This household is outside your compounds."))


def _existing(client_key: str, household: Household) -> Order | None:
    found = Order.objects.filter(client_key=client_key).first()
    if found is not None and found.household_id != household.pk:
        raise Refused(_("This form was already used for another household; reload the page."))
    return found


def _order_lines(group_buy: GroupBuy, quantities: Mapping[Any, Any]) -> list[OrderLine]:
    """The lines of an order, checked against the group buy's items and limits (unsaved)."""
    items = {item.pk: item for item in group_buy.items.all()}
    if len(quantities) > rules.MAX_LINES:
        raise Refused(rules.MSG_NOTHING, field="quantities")
    lines: list[OrderLine] = []
    for key, value in quantities.items():
        try:
            item = items.get(int(key))
        except (TypeError, ValueError):
            item = None
        if item is None:
            raise Refused(_("An item is not part of this group buy."), field="quantities")
        quantity = rules.clean_quantity(value)
        if quantity > item.max_per_order:
            raise Refused(
                _("At most %(max)d %(unit)s of %(name)s per household.")
                % {"max": item.max_per_order, "unit": item.unit, "name": item.name},
                field="quantities",
            )
        if quantity:
            lines.append(OrderLine(item=item, quantity=quantity, price=item.price))
    if not lines:
        raise Refused(rules.MSG_NOTHING, field="quantities")
    return lines


def order_submit(
    *,
    by: Any,
    household: Household,
    group_buy: GroupBuy,
    quantities: Mapping[Any, Any],
    client_key: str,
    phone: Any = "",
    note: Any = "",
    urgent: bool = False,
    link: OrderLink | None = None,
    household_link: Any = None,
) -> Order:
    """A household's order in a group buy: {group-buy item id: quantity}. Idempotent: the same
    `client_key` (one per form shown, or per API call) returns the first order. Refused:
    quantities that are not whole numbers from 0 to the item's limit, nothing ordered, an item
    of another group buy, the group buy closed or past its deadline, a household outside the
    group buy's compounds, a second live order of the same household. `by` is None for a
    resident ordering through the compound's `link` (self_code_check proved the household)
    or through the household's own link (`household_link`, residents.household proved it)."""
    if by is None:
        if household_link is not None:
            if not household_link.active or household_link.household_id != household.pk:
                raise PermissionDenied(_("This link is no longer in use."))
        elif link is None or not link.active or link.compound_id != household.compound_id:
            raise PermissionDenied(_("This link is no longer in use."))
    else:
        _check_household(by, household)
    client_key = _text(client_key, field="client_key", max_length=64)
    if not client_key:
        raise Refused(_("The form is missing its key; reload the page."))
    found = _existing(client_key, household)
    if found is not None:
        return found
    if not group_buy.accepts_orders():
        raise Refused(_("This group buy no longer takes orders (deadline passed)."))
    if not group_buy.compounds.filter(pk=household.compound_id).exists():
        raise Refused(
            _("%(household)s is not in a compound this group buy serves.")
            % {"household": household},
            field="household",
        )
    lines = _order_lines(group_buy, quantities)
    amount = sum((line.price * line.quantity for line in lines), Decimal(0))
    try:
        with transaction.atomic():
            order = Order.objects.create(
                compound_id=household.compound_id,
                building_id=household.building_id,
                household=household,
                kind=OrderKind.GROUP_BUY,
                group_buy=group_buy,
                client_key=client_key,
                phone=_phone(phone),
                note=_text(note, field="note", max_length=200),
                urgent=bool(urgent),
                amount_due=amount,
                created_by=by if getattr(by, "pk", None) else None,
            )
            for line in lines:
                line.order = order
            OrderLine.objects.bulk_create(lines)
            _event(order, OrderStatus.SUBMITTED, by)
    except IntegrityError:
        # A double submit racing this one, or a second order of the household.
        found = _existing(client_key, household)
        if found is not None:
            return found
        raise Refused(
            _("%(household)s has an order in this group buy already.") % {"household": household},
            field="household",
        ) from None
    return order


def proxy_submit(
    *,
    by: Any,
    household: Household,
    items: Any,
    client_key: str,
    urgency: str = Urgency.NORMAL,
    estimate: Any = None,
    phone: Any = "",
    note: Any = "",
) -> Order:
    """A proxy purchase (代购): what to buy in words, e.g. medicine. Idempotent by key."""
    _check_household(by, household)
    client_key = _text(client_key, field="client_key", max_length=64)
    if not client_key:
        raise Refused(_("The form is missing its key; reload the page."))
    found = _existing(client_key, household)
    if found is not None:
        return found
    errors: dict[str, Any] = {}
    try:
        items = _text(items, field="items", max_length=1000, multiline=True)
        if not items:
            errors["items"] = _("Say what to buy.")
    except Refused as refused:
        errors["items"] = refused.message
    if urgency not in Urgency.values:
        errors["urgency"] = _("Choose how urgent it is.")
    try:
        estimate = rules.clean_amount(estimate, field="estimate", required=False)
    except Refused as refused:
        errors["estimate"] = refused.message
    if errors:
        raise Refused.of_fields(errors)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                compound_id=household.compound_id,
                building_id=household.building_id,
                household=household,
                kind=OrderKind.PROXY,
                client_key=client_key,
                phone=_phone(phone),
                note=_text(note, field="note", max_length=200),
                urgent=urgency == Urgency.URGENT,
                amount_due=estimate or 0,
                created_by=by if getattr(by, "pk", None) else None,
            )
            ProxyPurchase.objects.create(
                order=order, items=items, urgency=urgency, estimate=estimate
            )
            _event(order, OrderStatus.SUBMITTED, by)
    except IntegrityError:
        found = _existing(client_key, household)
        if found is not None:
            return found
        raise
    return order


def order_set_status(
    *, by: User, order: Order, to: str, note: Any = "", receipt_amount: Any = None
) -> Order:
    """The secretary moves an order on: accept, purchased (a proxy purchase with its receipt
    amount, which becomes the amount due), cancel. Claiming, delivering and failing go through
    their own services. Refused: a jump or a step back."""
    _require_organiser(by)
    if to not in rules.SET_BY_ORGANISER:
        raise Refused(_("Use the delivery page to deliver an order."), field="status")
    note = _text(note, field="note", max_length=200)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        rules.ORDER.check(locked.status, to, by=by, obj=locked)
        fields = ["status"]
        if to == OrderStatus.PURCHASED and locked.kind == OrderKind.PROXY:
            amount = rules.clean_amount(receipt_amount, field="receipt_amount")
            ProxyPurchase.objects.filter(order=locked).update(receipt_amount=amount)
            locked.amount_due = amount
            fields.append("amount_due")
        locked.status = to
        locked.save(update_fields=fields)
        _event(locked, to, by, note)
    return locked


def order_record_payment(*, by: User, order: Order, method: str, paid: bool = True) -> Order:
    """How the household pays and whether it has: WeChat transfer, cash, or free (donated:
    counted apart, never outstanding). Refused: a cancelled order, no method."""
    _require_organiser(by)
    if method not in PaymentMethod.values:
        raise Refused(_("Choose how it is paid."), field="method")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status == OrderStatus.CANCELLED:
            raise Refused(_("A cancelled order is not paid."))
        locked.payment_method = method
        locked.paid = bool(paid) or method == PaymentMethod.FREE
        locked.paid_at = timezone.now() if locked.paid else None
        locked.save(update_fields=["payment_method", "paid", "paid_at"])
        _event(locked, locked.status, by, f"{PaymentMethod(method).label}")
    return locked


def order_undo_payment(*, by: User, order: Order) -> Order:
    """A payment recorded by mistake (the wrong row, the wrong method) is taken back: the
    order is unpaid again, its method cleared, and its history says who undid what. Refused:
    an order that is not marked paid (a second click finds it already undone)."""
    _require_organiser(by)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if not locked.paid and not locked.payment_method:
            raise Refused(_("This order is not marked paid: there is nothing to undo."))
        was = locked.get_payment_method_display() or "—"
        locked.payment_method, locked.paid, locked.paid_at = "", False, None
        locked.save(update_fields=["payment_method", "paid", "paid_at"])
        _event(locked, locked.status, by, _("Payment undone (was: %(method)s)") % {"method": was})
    return locked
