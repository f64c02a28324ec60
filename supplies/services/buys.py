"""Suppliers, the catalogue and group buys: created and moved along (rules.GROUP_BUY), their
orders with them."""

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Community, Compound
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    CatalogueItem,
    GroupBuy,
    GroupBuyItem,
    GroupBuyStatus,
    Order,
    OrderEvent,
    OrderStatus,
    Supplier,
)
from .common import _phone, _require_organiser, _text


def supplier_save(
    *,
    by: User,
    community: Community,
    name: Any,
    contact: Any = "",
    phone: Any = "",
    note: Any = "",
    supplier: Supplier | None = None,
) -> Supplier:
    _require_organiser(by)
    name = _text(name, field="name", max_length=80)
    if not name:
        raise Refused(_("Name the supplier."), field="name")
    supplier = supplier or Supplier(community=community)
    supplier.name = name
    supplier.contact = _text(contact, field="contact", max_length=40)
    supplier.phone = _phone(phone)
    supplier.note = _text(note, field="note", max_length=200)
    try:
        with transaction.atomic():
            supplier.save()
    except IntegrityError:
        raise Refused(_("The community has a supplier of that name."), field="name") from None
    return supplier


def catalogue_item_save(
    *,
    by: User,
    supplier: Supplier,
    name: Any,
    unit: Any,
    price: Any,
    item: CatalogueItem | None = None,
) -> CatalogueItem:
    _require_organiser(by)
    errors: dict[str, Any] = {}
    try:
        name = _text(name, field="name", max_length=60)
        unit = _text(unit, field="unit", max_length=10)
    except Refused as refused:
        errors[refused.field or "name"] = refused.message
    if not errors and not name:
        errors["name"] = _("Name the item.")
    if not errors and not unit:
        errors["unit"] = _("Give the unit, e.g. 袋.")
    try:
        price = rules.clean_amount(price, field="price")
    except Refused as refused:
        errors["price"] = refused.message
    if errors:
        raise Refused.of_fields(errors)
    item = item or CatalogueItem(supplier=supplier)
    item.name, item.unit, item.price = name, unit, price
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise Refused(_("The supplier has this item already."), field="name") from None
    return item


def group_buy_create(
    *,
    by: User,
    community: Community,
    supplier: Supplier,
    title: Any,
    compounds: Sequence[Compound],
    deadline: Any,
    delivery_date: Any,
    items: Sequence[tuple[CatalogueItem, Any, Any]],
) -> GroupBuy:
    """A group buy open for orders until `deadline`. `items`: (catalogue item, price for this
    buy or None for the catalogue's, at most per household or None for 10). Refused: no
    compound or one of another community, a supplier of another community, no item, a
    deadline passed or after the delivery date."""
    _require_organiser(by)
    errors: dict[str, Any] = {}
    title = _text(title, field="title", max_length=80)
    if not title:
        errors["title"] = _("Give the group buy a title, e.g. 12月1日蔬菜团购.")
    if not compounds:
        errors["compounds"] = _("Choose at least one compound.")
    elif any(c.community_id != community.pk for c in compounds):
        errors["compounds"] = _("Choose compounds of this community.")
    if supplier.community_id != community.pk:
        errors["supplier"] = _("Choose a supplier of this community.")
    if deadline is None or deadline <= timezone.now():
        errors["deadline"] = _("The order deadline must be in the future.")
    elif delivery_date is None or delivery_date < timezone.localdate(deadline):
        errors["delivery_date"] = _("Deliver on the deadline's day or later.")
    if not items:
        errors["items"] = _("Choose at least one item.")
    rows = []
    for n, (catalogue_item, price, most) in enumerate(items):
        if catalogue_item.supplier_id != supplier.pk:
            errors["items"] = _("Choose items of this supplier.")
            break
        try:
            price = rules.clean_amount(
                catalogue_item.price if price in (None, "") else price, field="items"
            )
            most = rules.clean_quantity(10 if most in (None, "") else most) or 1
        except Refused as refused:
            errors["items"] = refused.message
            break
        rows.append(
            GroupBuyItem(
                catalogue_item=catalogue_item,
                name=catalogue_item.name,
                unit=catalogue_item.unit,
                price=price,
                max_per_order=most,
                position=n,
            )
        )
    if errors:
        raise Refused.of_fields(errors)
    with transaction.atomic():
        buy = GroupBuy.objects.create(
            community=community,
            supplier=supplier,
            title=title,
            deadline=deadline,
            delivery_date=delivery_date,
            created_by=by,
        )
        buy.compounds.set(compounds)
        for row in rows:
            row.group_buy = buy
        GroupBuyItem.objects.bulk_create(rows)
    return buy


# What moving a group buy on does to its orders.
_CASCADE: dict[str, tuple[str, str]] = {
    GroupBuyStatus.CLOSED: (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED),
    GroupBuyStatus.PURCHASED: (OrderStatus.ACCEPTED, OrderStatus.PURCHASED),
}


def group_buy_advance(*, by: User, group_buy: GroupBuy, to: str) -> GroupBuy:
    """One step on: open → closed (its submitted orders accepted) → purchased (accepted orders
    purchased) → delivering → done (only when no order is still open). Refused: a jump, a
    step back, done with orders at the door."""
    _require_organiser(by)
    with transaction.atomic():
        buy = GroupBuy.objects.select_for_update().get(pk=group_buy.pk)
        rules.GROUP_BUY.check(buy.status, to, by=by)
        if to == GroupBuyStatus.DONE:
            still = buy.orders.exclude(
                status__in=[OrderStatus.DELIVERED, OrderStatus.CANCELLED]
            ).count()
            if still:
                raise Refused(
                    _("%(count)d orders are not delivered or cancelled yet.") % {"count": still}
                )
        cascade = _CASCADE.get(to)
        if cascade is not None:
            before, after = cascade
            rules.ORDER.check(before, after, by=by)
            ids = list(buy.orders.filter(status=before).values_list("pk", flat=True))
            Order.objects.filter(pk__in=ids, status=before).update(status=after)
            now = timezone.now()
            OrderEvent.objects.bulk_create(
                [OrderEvent(order_id=pk, status=after, by=by, at=now) for pk in ids],
                batch_size=2000,
            )
        buy.status = to
        buy.save(update_fields=["status"])
    return buy
