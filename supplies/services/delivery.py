"""Contactless delivery: a volunteer claims a building's orders, the household gets a handover
code, the claimer delivers, fails or gives back (rules.ORDER); the proof a compound asks for."""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Building, Compound
from residents.models import Resident
from residents.services import task_call_record
from wuyi.lib import photos, pii
from wuyi.lib.errors import Refused

from .. import notify, rules
from ..models import (
    CLAIMABLE,
    DeliveredHow,
    DeliveryRule,
    Order,
    OrderEvent,
    OrderStatus,
    Proof,
)
from .common import _event, _new_code, _require_organiser, _text


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
