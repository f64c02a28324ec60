"""Every write on supplies: suppliers and catalogue, group buys, orders and proxy purchases,
claiming and delivering, payment. Pages, the API, seed_demo and the bench call these; each rule
lives here once, and every refusal changes nothing."""

import datetime
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Building, Community, Compound
from residents import rules as residents_rules
from residents.models import Household, Resident
from residents.services import task_call_record
from wuyi.lib import cn, pgcopy, photos, pii
from wuyi.lib.errors import Refused

from . import notify, rules
from .models import (
    CLAIMABLE,
    CatalogueItem,
    DeliveredHow,
    DeliveryRule,
    GroupBuy,
    GroupBuyItem,
    GroupBuyStatus,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderLink,
    OrderStatus,
    PaymentMethod,
    Proof,
    ProxyPurchase,
    SelfOrderCode,
    Supplier,
    Urgency,
)


def _require_organiser(user: Any) -> None:
    if not rules.may_organise(user):
        raise PermissionDenied(_("Supplies are organised by the community secretary."))


def _text(value: Any, *, field: str, max_length: int, multiline: bool = False) -> str:
    try:
        return cn.clean_text(value, max_length=max_length, field=field, multiline=multiline)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=field) from None


def _phone(value: Any) -> str:
    if not value:
        return ""
    try:
        return cn.normalize_phone(value)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="phone") from None


def _event(order: Order, status: str, by: Any, note: str = "") -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, status=status, by=by if getattr(by, "pk", None) else None, note=note
    )


# ----------------------------------------------------------------------------- catalogue


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


# ----------------------------------------------------------------------------- group buys


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


# ----------------------------------------------------------------------------- orders


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
) -> Order:
    """A household's order in a group buy: {group-buy item id: quantity}. Idempotent: the same
    `client_key` (one per form shown, or per API call) returns the first order. Refused:
    quantities that are not whole numbers from 0 to the item's limit, nothing ordered, an item
    of another group buy, the group buy closed or past its deadline, a household outside the
    group buy's compounds, a second live order of the same household. `by` is None for a
    resident ordering through the compound's `link` (self_code_check proved the household)."""
    if by is None:
        if link is None or not link.active or link.compound_id != household.compound_id:
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
        rules.ORDER.check(locked.status, to, by=by)
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


# ----------------------------------------------------------------------------- delivery


def _new_code() -> str:
    return f"{secrets.randbelow(10**rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"


def _code_hash(order_id: int, code: str) -> str:
    return pii.keyed_hash(f"handover:{order_id}:{code}")


def _send_code(order: Order) -> bool:
    """A fresh handover code for the household (the old one stops working)."""
    if not order.phone:
        return False
    code = _new_code()
    order.codes_sent += 1
    order.code_hash = _code_hash(order.pk, code)
    order.code_attempts = 0
    Order.objects.filter(pk=order.pk).update(
        code_hash=order.code_hash, code_attempts=0, codes_sent=order.codes_sent
    )
    return notify.handover_code(order, code)


def _claim_codes(orders: Sequence[Order]) -> list[tuple[Order, str]]:
    """A fresh code for each claimed order whose compound asks for one and whose household has
    a phone, written in one UPDATE (as _send_code does one by one): (order, code) to send once
    the claim is committed."""
    proofs = {cid: proof_of(cid) for cid in sorted({o.compound_id for o in orders})}
    pairs = []
    for order in orders:
        if not order.phone or proofs[order.compound_id] == Proof.PHOTO:
            continue
        # A code already sent holds across a release and a re-claim, with its count of wrong
        # tries: giving the building back is no way to a fresh code (issue 17).
        if order.code_hash or order.codes_sent >= rules.MAX_CODES_SENT:
            continue
        code = _new_code()
        order.codes_sent += 1
        order.code_hash = _code_hash(order.pk, code)
        order.code_attempts = 0
        pairs.append((order, code))
    if not pairs:
        return pairs
    if connection.vendor == "postgresql":
        # One statement with two array parameters (bulk_update's CASE per row costs more in
        # Python than the claim does in the database).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE supplies_order AS o SET code_hash = v.hash, code_attempts = 0, "
                "codes_sent = v.sent FROM unnest(%s::bigint[], %s::text[], %s::int[]) "
                "AS v (id, hash, sent) WHERE o.id = v.id",
                [
                    [o.pk for o, _c in pairs],
                    [o.code_hash for o, _c in pairs],
                    [o.codes_sent for o, _c in pairs],
                ],
            )
    else:
        Order.objects.bulk_update(
            [order for order, _code in pairs], ["code_hash", "code_attempts", "codes_sent"], 500
        )
    return pairs


def orders_claim(
    *,
    by: Any,
    building: Building | None = None,
    orders: Iterable[int] | None = None,
    limit: int = rules.MAX_BATCH,
) -> list[Order]:
    """A volunteer takes a batch: a building's bought orders (failed ones again), or the given
    ones. The claim is one conditional UPDATE (`claimed_by IS NULL AND status IN claimable`):
    on PostgreSQL a second claimer's UPDATE waits on the row lock, re-reads the row, finds it
    claimed and skips it; on SQLite writes are serialised. So an order is claimed once however
    many volunteers tap at once; the claim token reads back what this UPDATE took. Each claimed
    order's household gets a handover code (unless it has one from an earlier claim, released
    or failed: that code and its wrong tries stay; at most MAX_CODES_SENT codes an order),
    queued once the claim is committed (all of them
    written together: a 200-order building claims in a fraction of a second, and nothing of
    the SMS outbox, its budget included, is locked while the claim holds its orders). Call it
    outside a transaction. Returns the claimed orders (maybe none)."""
    if building is None and orders is None:
        raise Refused(_("Choose a building or orders to deliver."))
    for claimable in CLAIMABLE:
        rules.ORDER.check(claimable, OrderStatus.OUT_FOR_DELIVERY, by=by)
    candidates = Order.objects.filter(status__in=CLAIMABLE, claimed_by__isnull=True)
    if building is not None:
        if not rules.may_deliver(by, building.compound_id):
            raise PermissionDenied(_("Only the compound's volunteers deliver its orders."))
        candidates = candidates.filter(building=building)
    if orders is not None:
        candidates = candidates.filter(pk__in=list(orders)[: rules.MAX_BATCH])
        compound_ids = set(candidates.values_list("compound_id", flat=True).distinct())
        if any(not rules.may_deliver(by, c) for c in compound_ids):
            raise PermissionDenied(_("Only the compound's volunteers deliver its orders."))
    ids = list(candidates.order_by("-urgent", "pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        Order.objects.filter(pk__in=ids, claimed_by__isnull=True, status__in=CLAIMABLE).update(
            claimed_by=by,
            claimed_at=now,
            claim_token=token,
            status=OrderStatus.OUT_FOR_DELIVERY,
        )
        claimed = list(
            Order.objects.filter(claim_token=token).select_related("compound").order_by("pk")
        )
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(order=o, status=OrderStatus.OUT_FOR_DELIVERY, by=by, at=now)
                for o in claimed
            ]
        )
        codes = _claim_codes(claimed)
    # Committed: now the codes (a lost worker here loses codes, never a claim; the volunteer
    # sends a new one from the order).
    notify.handover_codes(codes)
    return claimed


def _claimed_by_me(by: Any, order: Order, to: str | None) -> Order:
    """The order locked, when it is out for delivery with `by` and may go to `to` (None: it
    stays out for delivery, a new code sent)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if to is None:
        if locked.status != OrderStatus.OUT_FOR_DELIVERY:
            raise Refused(_("This order is not out for delivery."), field="status")
    else:
        rules.ORDER.check(locked.status, to)  # the graph first: its message names the moves
    if locked.claimed_by_id != getattr(by, "pk", None):
        raise PermissionDenied(_("Only the volunteer who claimed this order delivers it."))
    if to is not None:
        rules.ORDER.check(locked.status, to, by=by, obj=locked)
    return locked


def proof_of(compound_id: int) -> str:
    """What the compound wants as proof of a delivery (a code unless it set otherwise)."""
    rule = DeliveryRule.objects.filter(compound_id=compound_id).values_list("proof", flat=True)
    return rule.first() or Proof.CODE


def payment_note_set(*, by: User, compound: Compound, note: Any) -> DeliveryRule:
    """How the compound's residents pay, as the ordering page and its poster tell them (empty:
    nothing said)."""
    _require_organiser(by)
    text = _text(note, field="payment_note", max_length=300, multiline=True)
    rule, _created = DeliveryRule.objects.update_or_create(
        compound=compound, defaults={"payment_note": text, "updated_by": by}
    )
    return rule


def delivery_rule_set(*, by: User, compound: Compound, proof: str) -> DeliveryRule:
    _require_organiser(by)
    if proof not in Proof.values:
        raise Refused(_("Choose how deliveries are proved."), field="proof")
    rule, _created = DeliveryRule.objects.update_or_create(
        compound=compound, defaults={"proof": proof, "updated_by": by}
    )
    return rule


def order_mark_delivered(
    *, by: Any, order: Order, how: str, code: Any = "", note: Any = "", photo: Any = None
) -> Order:
    """The claimer brought it: how (left at the door, handed over, collected at the gate) and
    the proof the compound asks for (DeliveryRule): the handover code the household read out
    (when it has a phone), a photo at the door, or both. A wrong code counts against
    MAX_CODE_ATTEMPTS (the count is kept even though the delivery is refused); past it, only a
    new code helps. Refused: someone else's order, an order not out for delivery, a wrong or
    used-up code, a missing photo or one that is not a picture."""
    if how not in DeliveredHow.values:
        raise Refused(_("Say how it was delivered."), field="how")
    note = _text(note, field="note", max_length=200)
    code = str(code or "").strip()
    proof = proof_of(order.compound_id)
    # Re-encoded before the transaction: no metadata, bounded pixels (wuyi.lib.photos).
    cleaned = photos.clean_photo(photo) if photo is not None else None
    if proof in (Proof.PHOTO, Proof.BOTH) and photo is None:
        raise Refused(_("Take a photo of the delivery at the door."), field="photo")
    wrong = False
    with transaction.atomic():
        locked = _claimed_by_me(by, order, OrderStatus.DELIVERED)
        if locked.code_hash and proof in (Proof.CODE, Proof.BOTH):
            if locked.code_attempts >= rules.MAX_CODE_ATTEMPTS:
                raise Refused(
                    _("Too many wrong codes: send the household a new code."), field="code"
                )
            if not code or _code_hash(locked.pk, code) != locked.code_hash:
                locked.code_attempts += 1
                locked.save(update_fields=["code_attempts"])
                wrong = True
        if not wrong:
            locked.status = OrderStatus.DELIVERED
            locked.delivered_how = how
            locked.delivered_at = timezone.now()
            locked.code_hash = ""
            fields = ["status", "delivered_how", "delivered_at", "code_hash"]
            if cleaned is not None:
                locked.photo.save(f"order-{locked.pk}.jpg", cleaned, save=False)
                fields.append("photo")
            locked.save(update_fields=fields)
            _event(locked, OrderStatus.DELIVERED, by, note or str(DeliveredHow(how).label))
    if wrong:
        left = rules.MAX_CODE_ATTEMPTS - locked.code_attempts
        raise Refused(_("Wrong handover code; %(left)d tries left.") % {"left": left}, field="code")
    return locked


def order_call(*, by: Any, order: Order) -> str:
    """The household's number for the volunteer carrying the order (or the secretary), to call
    from the delivery card: the number the order gave for its code, else the first resident's
    on the register. Recorded in the personal-data log like a call from the register. Refused:
    someone else's delivery; a household with no phone."""
    if not rules.may_organise(by):
        if order.claimed_by_id != getattr(by, "pk", None):
            raise PermissionDenied(_("Only the volunteer who claimed this order calls from it."))
        if order.status != OrderStatus.OUT_FOR_DELIVERY:
            raise Refused(_("This order is not out for delivery."), field="status")
    phone = order.phone or (
        Resident.objects.filter(household_id=order.household_id, left_on__isnull=True)
        .exclude(phone="")
        .order_by("pk")
        .values_list("phone", flat=True)
        .first()
        or ""
    )
    if not phone:
        raise Refused(_("The household has no phone on the order or the register."))
    return task_call_record(
        by=by, compound_id=order.compound_id, phone=phone, via=f"supplies.order:{order.pk}"
    )


def order_resend_code(*, by: Any, order: Order) -> Order:
    """A new code for the household (lost the SMS, or too many wrong tries), at most
    MAX_CODES_SENT per order."""
    with transaction.atomic():
        locked = _claimed_by_me(by, order, None)
        if not locked.phone:
            raise Refused(_("The household has no phone: deliver without a code."))
        if locked.codes_sent >= rules.MAX_CODES_SENT:
            raise Refused(_("No more codes for this order: call the community secretary."))
        _send_code(locked)
        _event(locked, OrderStatus.OUT_FOR_DELIVERY, by, _("New handover code sent."))
    return locked


def order_mark_failed(*, by: Any, order: Order, note: Any = "") -> Order:
    """Nobody answered: the order goes back to be claimed again (a retry). Its handover code
    stays valid, with its wrong tries counted, for whoever takes it next."""
    note = _text(note, field="note", max_length=200)
    with transaction.atomic():
        locked = _claimed_by_me(by, order, OrderStatus.FAILED)
        locked.status = OrderStatus.FAILED
        locked.failures += 1
        locked.claimed_by, locked.claim_token = None, ""
        locked.save(update_fields=["status", "failures", "claimed_by", "claim_token"])
        _event(locked, OrderStatus.FAILED, by, note or _("Nobody answered."))
        notify.delivery_failed(locked, by=by, note=note or _("Nobody answered."))
    return locked


def order_release(*, by: Any, order: Order) -> Order:
    """The claimer gives it back (cannot go today): bought and waiting again. Its handover
    code stays valid, with its wrong tries counted (orders_claim sends no fresh one)."""
    with transaction.atomic():
        locked = _claimed_by_me(by, order, OrderStatus.PURCHASED)
        locked.status = OrderStatus.PURCHASED
        locked.claimed_by, locked.claim_token = None, ""
        locked.save(update_fields=["status", "claimed_by", "claim_token"])
        _event(locked, OrderStatus.PURCHASED, by, _("Given back by the volunteer."))
    return locked


# ----------------------------------------------------------------------------- money


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


# ----------------------------------------------------------------------------- residents' link


def order_link_get_or_create(*, by: User, compound: Compound) -> OrderLink:
    """The compound's ordering link for residents (one active at a time)."""
    _require_organiser(by)
    link = OrderLink.objects.filter(compound=compound, active=True).first()
    if link is None:
        link = OrderLink.objects.create(
            compound=compound, token=secrets.token_urlsafe(24), created_by=by
        )
    return link


def order_link_revoke(*, by: User, link: OrderLink) -> OrderLink:
    """The link stops working (it was posted where it should not be): a new one can be made."""
    _require_organiser(by)
    OrderLink.objects.filter(pk=link.pk).update(active=False)
    link.active = False
    return link


def _phone_hash(phone: str) -> str:
    return pii.keyed_hash(f"selforder:{phone}")


def self_code_request(
    *,
    link: OrderLink,
    phone: Any,
    building: Building | None,
    unit: Any = "",
    room: Any = "",
    now: Any = None,
) -> SelfOrderCode:
    """A resident asks for a code for their number at their door (building, unit, room as
    typed). The request is recorded and the worker, once this commits, looks the number up at
    that door and texts it a code if it lives there (self_code_deliver); a number that does
    not gets nothing. So the page answers the same way, as fast, whoever asks: it looks up
    no resident and sends no SMS itself. Each request counts against the limits an hour per
    number, per door and per link (rules: SELF_CODES_PER_HOUR, SELF_CODES_PER_DOOR_HOUR,
    self_codes_per_link_hour()), so one client holding the link cannot spend the
    community's SMS. Refused: a number or door that is not one, a building of another
    compound, a limit reached, a link no longer in use."""
    now = now or timezone.now()
    phone = _phone(phone)
    if not phone:
        raise Refused(_("Give your mobile number."), field="phone")
    if building is None or building.compound_id != link.compound_id:
        raise Refused(_("Choose your building."), field="building")
    try:
        door = residents_rules.clean_address(building.number, unit, room)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field or "room") from None
    phone_hash = _phone_hash(phone)
    since = now - datetime.timedelta(hours=1)
    this_door = Q(link=link, building=building, unit=door.unit, room=door.room)
    with transaction.atomic():
        # One row locked for a moment: concurrent requests through the link count in turn,
        # so no limit is passed by a burst.
        locked = OrderLink.objects.select_for_update().filter(pk=link.pk, active=True).first()
        if locked is None:
            raise Refused(_("This link is no longer in use."))
        counts = (
            SelfOrderCode.objects.filter(sent_at__gte=since)
            .filter(Q(phone_hash=phone_hash) | Q(link=link))
            .aggregate(
                number=Count("pk", filter=Q(phone_hash=phone_hash)),
                door=Count("pk", filter=this_door),
                link=Count("pk", filter=Q(link=link)),
            )
        )
        if counts["link"] >= rules.self_codes_per_link_hour():
            raise Refused(
                _(
                    "This link has sent as many codes as it may this hour: try again in an "
                    "hour, or ask a volunteer to enter your order."
                )
            )
        if counts["door"] >= rules.SELF_CODES_PER_DOOR_HOUR:
            raise Refused(_("Too many codes for this address: try again in an hour."), field="room")
        if counts["number"] >= rules.SELF_CODES_PER_HOUR:
            raise Refused(_("Too many codes for this number: try again in an hour."), field="phone")
        row = SelfOrderCode.objects.create(
            link=link,
            compound_id=link.compound_id,
            phone_hash=phone_hash,
            building=building,
            unit=door.unit,
            room=door.room,
            code_hash="",
            sent_at=now,
        )
        transaction.on_commit(lambda: _queue_lookup(row.pk))
    return row


def _queue_lookup(code_id: int) -> None:
    from . import tasks  # tasks imports this module

    tasks.deliver_self_code.delay(code_id)


def self_code_deliver(*, code_id: int, now: Any = None) -> str:
    """On the worker: the number of a request is looked up at its door; if a current resident
    there has it, a code is made and texted to it. Once per request (a retried task finds it
    looked up and does nothing), nothing for a request older than the code's life. Returns
    what it did, without the number."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            SelfOrderCode.objects.select_for_update(of=("self",))
            .select_related("link__compound")
            .filter(pk=code_id, looked_up_at__isnull=True)
            .first()
        )
        if row is None:
            return "already looked up"
        row.looked_up_at = now
        fields = ["looked_up_at"]
        found = None
        if now - row.sent_at <= datetime.timedelta(minutes=rules.SELF_CODE_MINUTES):
            found = _resident_at_door(row)
        if found is not None:
            household_id, phone = found
            code = _new_code()
            row.household_id = household_id
            row.code_hash = pii.keyed_hash(f"selforder:{row.pk}:{code}")
            fields += ["household", "code_hash"]
            notify.self_order_code(
                phone=phone, code=code, compound=row.link.compound, key=f"supplies:self:{row.pk}"
            )
        row.save(update_fields=fields)
    return "code sent" if found is not None else "not on the register at that address"


def _resident_at_door(row: SelfOrderCode) -> tuple[int, str] | None:
    """(household id, phone) of a current resident at the request's door with its number."""
    if row.building_id is None:
        return None
    residents = Resident.objects.filter(
        household__compound_id=row.compound_id,
        household__building_id=row.building_id,
        household__unit=row.unit,
        household__room=row.room,
        left_on__isnull=True,
    ).exclude(phone="")
    for household_id, phone in residents.order_by("pk").values_list("household_id", "phone"):
        if _phone_hash(phone) == row.phone_hash:
            return household_id, phone
    return None


def self_code_check(*, link: OrderLink, phone: Any, code: Any, now: Any = None) -> Household:
    """The household the code was sent to, for the number it was sent to. A wrong code counts
    against SELF_CODE_ATTEMPTS (kept even though refused); a request that sent nothing (a
    number not at that door) answers as a wrong code does. Refused: no code asked for in the
    last SELF_CODE_MINUTES, a wrong or used-up code."""
    now = now or timezone.now()
    if not link.active:
        raise Refused(_("This link is no longer in use."))
    phone = _phone(phone)
    expired = Refused(_("The code has expired: ask for a new one."), field="code")
    wrong = False
    with transaction.atomic():
        row = (
            SelfOrderCode.objects.select_for_update()
            .filter(
                link=link,
                phone_hash=_phone_hash(phone),
                used_at__isnull=True,
                sent_at__gte=now - datetime.timedelta(minutes=rules.SELF_CODE_MINUTES),
            )
            .order_by("-sent_at")
            .first()
        )
        if row is None:
            raise expired
        if row.attempts >= rules.SELF_CODE_ATTEMPTS:
            raise Refused(_("Too many wrong codes: ask for a new one."), field="code")
        text = str(code or "").strip()
        if not row.code_hash or pii.keyed_hash(f"selforder:{row.pk}:{text}") != row.code_hash:
            row.attempts += 1
            row.save(update_fields=["attempts"])
            wrong = True
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
    if wrong:
        raise Refused(_("Wrong code."), field="code")
    if row.household_id is None:  # a code sent before codes named their household
        raise expired
    household = (
        Household.objects.filter(
            pk=row.household_id,
            compound_id=link.compound_id,
            residents__phone=phone,
            residents__left_on__isnull=True,
        )
        .distinct()
        .first()
    )
    if household is None:  # moved out between the code and now
        raise expired
    return household


def self_codes_purge(*, now: Any = None) -> int:
    """Ordering codes older than a day: nothing needs them (the hourly limit looks back one
    hour). Returns the count deleted."""
    now = now or timezone.now()
    deleted, _kinds = SelfOrderCode.objects.filter(
        sent_at__lt=now - datetime.timedelta(days=1)
    ).delete()
    pgcopy.analyze_after_delete({SelfOrderCode: deleted})
    return deleted
