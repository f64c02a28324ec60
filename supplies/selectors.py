"""Reads on supplies with a constant number of queries however many orders a group buy has:
the picking list, the reconciliation, the order list, the district figures and a volunteer's
deliveries."""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from compounds.models import Compound, address_label, building_label, unit_label
from residents.models import Category, VulnerableTag
from wuyi.lib.iters import natural_key

from . import rules
from .models import (
    CLAIMABLE,
    OPEN_STATUSES,
    GroupBuy,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)

# The categories that put a household first in the bags and the deliveries.
PRIORITY = (
    Category.ELDERLY_ALONE,
    Category.DISABLED,
    Category.PREGNANT,
    Category.CHRONIC,
    Category.BEDRIDDEN,
    Category.INFANT,
    Category.ELDERLY,
)


def vulnerable_households(household_ids: Any) -> dict[int, list[str]]:
    """{household id: its current residents' vulnerable categories} (one query; `household_ids`
    may be a subquery)."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = (
        VulnerableTag.objects.filter(
            resident__household_id__in=household_ids,
            resident__left_on__isnull=True,
            category__in=PRIORITY,
        )
        .values_list("resident__household_id", "category")
        .distinct()
    )
    for household_id, category in rows:
        if category not in found[household_id]:
            found[household_id].append(category)
    return found


def is_vulnerable() -> Exists:
    """An order whose household has a current resident in the priority categories."""
    return Exists(
        VulnerableTag.objects.filter(
            resident__household_id=OuterRef("household_id"),
            resident__left_on__isnull=True,
            category__in=PRIORITY,
        )
    )


# ----------------------------------------------------------------------------- picking


@dataclass
class Bag:
    order_id: int
    address: str
    unit: str
    room: str
    lines: list[tuple[str, int]]  # (item label, quantity)
    vulnerable: list[str]
    urgent: bool
    status: str


@dataclass
class BuildingBags:
    """One printed page of the picking list: a building of a compound (two compounds' 1号楼
    are two pages, each naming its compound)."""

    compound: str
    number: str
    name: str
    units: dict[str, list[Bag]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return building_label(self.number)

    @property
    def sheets(self) -> list[tuple[str, str, list["Bag"]]]:
        """(unit, "3号楼2单元", its bags) for each unit, in order."""
        return [(unit, unit_label(self.number, unit), bags) for unit, bags in self.units.items()]

    @property
    def count(self) -> int:
        return sum(len(bags) for bags in self.units.values())


@dataclass
class Picking:
    totals: list[tuple[str, str, int, Decimal]]  # (name, unit, quantity, amount)
    buildings: list[BuildingBags]
    orders: int


PICKED = [s for s in OrderStatus.values if s != OrderStatus.CANCELLED]


def picking_list(group_buy: GroupBuy, *, user: Any = None) -> Picking:
    """What the supplier brings (totals per item) and the bags to pack, one page per building
    of each compound (by compound, then building in natural order, then unit), vulnerable and
    urgent households first in each unit. Only the orders of the compounds `user` sees: a
    compound's volunteer or medic reads neither the addresses nor the ★ of another compound
    the group buy serves. (`user` None: every order, for the bench and commands.) Five
    queries whatever the size."""
    picked = Order.objects.filter(group_buy=group_buy, status__in=PICKED)
    if user is not None:
        picked = picked.visible_to(user)
    items = {i.pk: i for i in group_buy.items.all()}  # 1
    orders = list(
        picked.values_list(
            "pk",
            "household_id",
            "compound_id",
            "compound__name",
            "building_id",
            "building__number",
            "building__name",
            "household__unit",
            "household__room",
            "urgent",
            "status",
        ).order_by()
    )  # 2
    # The lines of the orders read above: the same compounds (the scope is in the ids).
    compound_ids = sorted({row[2] for row in orders})
    lines_of = OrderLine.objects.filter(
        order__group_buy=group_buy, order__status__in=PICKED, order__compound_id__in=compound_ids
    )
    totals_rows = lines_of.values("item_id").annotate(quantity=Sum("quantity")).order_by()  # 3
    by_item = {row["item_id"]: row["quantity"] for row in totals_rows}
    totals = [
        (i.name, i.unit, by_item.get(i.pk, 0), i.price * by_item.get(i.pk, 0))
        for i in items.values()
    ]
    lines: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for order_id, item_id, quantity in lines_of.values_list(
        "order_id", "item_id", "quantity"
    ).order_by():  # 4 (no server-side cursor: planned for the first rows, it chose a nested loop)
        item = items[item_id]
        lines[order_id].append((f"{item.name}（{item.unit}）", quantity))
    vulnerable = vulnerable_households(picked.values("household_id"))  # 5
    buildings: dict[int, BuildingBags] = {}
    for row in orders:
        pk, household_id, _compound_id, compound, building_id, number, name = row[:7]
        unit, room, urgent, status = row[7:]
        b = buildings.setdefault(
            building_id, BuildingBags(compound=compound, number=number, name=name)
        )
        b.units.setdefault(unit, []).append(
            Bag(
                order_id=pk,
                address=address_label(number, unit, room),
                unit=unit,
                room=room,
                lines=lines.get(pk, []),
                vulnerable=vulnerable.get(household_id, []),
                urgent=urgent,
                status=status,
            )
        )
    ordered = []
    for building_id in sorted(
        buildings,
        key=lambda pk: (
            natural_key(buildings[pk].compound),
            natural_key(buildings[pk].number),
            pk,
        ),
    ):
        b = buildings[building_id]
        b.units = {
            unit: sorted(bags, key=lambda g: (not g.vulnerable, not g.urgent, natural_key(g.room)))
            for unit, bags in sorted(b.units.items(), key=lambda kv: natural_key(kv[0]))
        }
        ordered.append(b)
    return Picking(totals=totals, buildings=ordered, orders=len(orders))


def picking_list_naive(group_buy: GroupBuy) -> int:
    """The per-order loop the bench compares against: each order's lines and household read
    one by one. Returns the number of bags."""
    count = 0
    for order in Order.objects.filter(group_buy=group_buy).exclude(status=OrderStatus.CANCELLED):
        _ = order.household.building.number
        for line in order.lines.all():
            _ = (line.item.name, line.quantity)
        VulnerableTag.objects.filter(resident__household_id=order.household_id).exists()
        count += 1
    return count


# ----------------------------------------------------------------------------- money

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))


@dataclass
class Reconciliation:
    orders: int
    due: Decimal
    paid: Decimal
    donated: Decimal
    outstanding: Decimal
    by_method: dict[str, Decimal]


def reconciliation(orders: QuerySet[Order]) -> Reconciliation:
    """Due, paid, donated and outstanding over the orders (cancelled ones left out): one
    aggregate query. Donated (free) is settled but not paid."""
    live = orders.exclude(status=OrderStatus.CANCELLED)
    free = Q(payment_method=PaymentMethod.FREE)
    figures = live.aggregate(
        n_orders=Count("pk"),
        sum_due=Coalesce(Sum("amount_due"), ZERO),
        sum_paid=Coalesce(Sum("amount_due", filter=Q(paid=True) & ~free), ZERO),
        sum_donated=Coalesce(Sum("amount_due", filter=free), ZERO),
        sum_wechat=Coalesce(Sum("amount_due", filter=Q(paid=True, payment_method="wechat")), ZERO),
        sum_cash=Coalesce(Sum("amount_due", filter=Q(paid=True, payment_method="cash")), ZERO),
    )
    cents = Decimal("0.01")
    figures = {
        k: (Decimal(v).quantize(cents) if k.startswith("sum_") else v) for k, v in figures.items()
    }
    return Reconciliation(
        orders=figures["n_orders"],
        due=figures["sum_due"],
        paid=figures["sum_paid"],
        donated=figures["sum_donated"],
        outstanding=figures["sum_due"] - figures["sum_paid"] - figures["sum_donated"],
        by_method={"wechat": figures["sum_wechat"], "cash": figures["sum_cash"]},
    )


def reconciliation_rows(orders: QuerySet[Order]):
    """One row per order for the export: address, amount, method, paid, status (streamed)."""
    methods = dict(PaymentMethod.choices)
    statuses = dict(OrderStatus.choices)
    rows = (
        orders.exclude(status=OrderStatus.CANCELLED)
        .order_by("building__number", "household__unit", "household__room", "pk")
        .values_list(
            "pk",
            "building__number",
            "household__unit",
            "household__room",
            "amount_due",
            "payment_method",
            "paid",
            "status",
        )
    )
    for pk, number, unit, room, amount, method, paid, status in rows.iterator(chunk_size=5000):
        address = address_label(number, unit, room)
        yield [
            pk,
            address,
            amount,
            str(methods.get(method, "")),
            "是" if paid else "否",
            str(statuses.get(status, status)),
        ]


def reconciliation_naive(group_buy: GroupBuy) -> Decimal:
    """The per-order loop the bench compares against."""
    due = Decimal(0)
    for order in Order.objects.filter(group_buy=group_buy).exclude(status=OrderStatus.CANCELLED):
        due += sum((line.price * line.quantity for line in order.lines.all()), Decimal(0))
    return due


# ----------------------------------------------------------------------------- lists


def order_list(
    *,
    user: Any,
    status: str = "",
    building: int | None = None,
    compound: int | None = None,
    group_buy: int | None = None,
    vulnerable: bool = False,
    overdue: bool = False,
) -> QuerySet[Order]:
    qs = Order.objects.visible_to(user).select_related(
        "household", "building", "compound", "group_buy", "claimed_by"
    )
    if status:
        qs = qs.filter(status=status)
    if building is not None:
        qs = qs.filter(building_id=building)
    if compound is not None:
        qs = qs.filter(compound_id=compound)
    if group_buy is not None:
        qs = qs.filter(group_buy_id=group_buy)
    if vulnerable:
        qs = qs.filter(is_vulnerable())
    if overdue:
        qs = qs.filter(
            status__in=OPEN_STATUSES,
            submitted_at__lt=timezone.now() - rules.OVERDUE_AFTER,
        )
    return qs.annotate(vulnerable=is_vulnerable()).order_by("-urgent", "-submitted_at", "-pk")


# ----------------------------------------------------------------------------- deliveries


@dataclass
class BuildingBatch:
    building_id: int
    label: str
    compound: str
    waiting: int
    vulnerable: int


def delivery_batches(*, user: Any) -> list[BuildingBatch]:
    """Buildings with orders waiting to be claimed in the compounds the user sees (one query),
    those with vulnerable households first."""
    rows = (
        Order.objects.visible_to(user)
        .filter(status__in=CLAIMABLE, claimed_by__isnull=True)
        .values("building_id", "building__number", "compound__name")
        .annotate(
            waiting=Count("pk"),
            vulnerable=Count("pk", filter=Q(is_vulnerable())),
        )
        .order_by()
    )
    batches = [
        BuildingBatch(
            building_id=r["building_id"],
            label=building_label(r["building__number"]),
            compound=r["compound__name"],
            waiting=r["waiting"],
            vulnerable=r["vulnerable"],
        )
        for r in rows
    ]
    return sorted(batches, key=lambda b: (b.vulnerable == 0, b.compound, natural_key(b.label)))


@dataclass
class TodayDeliveries:
    """A building in 今日任务: the orders the user carries there, those waiting to be claimed."""

    building_id: int
    label: str
    compound: str
    carried: int
    waiting: int


def today_deliveries(*, user: Any) -> list[TodayDeliveries]:
    """What 今日任务 shows of deliveries, counted per building in one query: the orders the
    user claimed and has not brought yet (as my_deliveries, wherever they are) and those
    waiting to be claimed in the compounds the user sees (as delivery_batches)."""
    mine = Q(claimed_by_id=user.pk, status=OrderStatus.OUT_FOR_DELIVERY)
    waiting = Q(status__in=CLAIMABLE, claimed_by__isnull=True)
    rows = (
        (Order.objects.filter(mine) | Order.objects.visible_to(user).filter(waiting))
        .values("building_id", "building__number", "compound__name")
        # Of the rows above, the claimed ones are the user's and the unclaimed ones wait: one
        # column each to count by (the conditions again cost Django more to compile).
        .annotate(
            carried=Count("pk", filter=Q(claimed_by_id__isnull=False)),
            waiting=Count("pk", filter=Q(claimed_by_id__isnull=True)),
        )
        .order_by()
    )
    found = [
        TodayDeliveries(
            building_id=r["building_id"],
            label=building_label(r["building__number"]),
            compound=r["compound__name"],
            carried=r["carried"],
            waiting=r["waiting"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda b: (b.compound, natural_key(b.label), b.building_id))


def my_deliveries(*, user: Any) -> list[Order]:
    """The orders the user claimed and has not brought yet, by compound and building (each
    building's together, as the page groups them), vulnerable and urgent first."""
    orders = list(
        Order.objects.filter(claimed_by=user, status=OrderStatus.OUT_FOR_DELIVERY)
        .select_related("household", "building", "compound", "proxy")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("item").order_by("pk"))
        )
        .annotate(vulnerable=is_vulnerable())
        .order_by("building__number", "household__unit", "household__room")
    )
    return sorted(
        orders,
        key=lambda o: (
            o.compound.name,
            natural_key(o.building.number),
            o.building_id,
            not o.vulnerable,  # type: ignore[attr-defined]  # annotated above
            not o.urgent,
            natural_key(o.household.unit),
            natural_key(o.household.room),
        ),
    )


# ----------------------------------------------------------------------------- district


@dataclass
class DistrictFigures:
    per_day: list[tuple[datetime.date, int, int]]  # (day, submitted, delivered)
    median_minutes: float | None
    backlog: list[tuple[Compound, int, int]]  # (compound, open, failed)


def district_figures(*, user: Any, days: int = 14) -> DistrictFigures:
    """Orders per day, the median time from submitted to delivered and the open backlog per
    compound, over the user's area (three queries and the compounds')."""
    since = timezone.now() - datetime.timedelta(days=days)
    orders = Order.objects.visible_to(user)
    submitted = dict(
        orders.filter(submitted_at__gte=since)
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    delivered_rows = list(
        orders.filter(status=OrderStatus.DELIVERED, delivered_at__gte=since).values_list(
            "submitted_at", "delivered_at"
        )
    )
    delivered_per_day: dict[datetime.date, int] = defaultdict(int)
    durations = []
    for start, end in delivered_rows:
        if start is None or end is None:
            continue
        delivered_per_day[timezone.localdate(end)] += 1
        durations.append((end - start).total_seconds() / 60)
    today = timezone.localdate()
    per_day = [
        (d, submitted.get(d, 0), delivered_per_day.get(d, 0))
        for d in (today - datetime.timedelta(days=n) for n in range(days - 1, -1, -1))
    ]
    backlog_rows = (
        orders.filter(status__in=OPEN_STATUSES)
        .values("compound_id")
        .annotate(open_count=Count("pk"), failed=Count("pk", filter=Q(status=OrderStatus.FAILED)))
        .order_by("-open_count")[:200]
    )
    rows = list(backlog_rows)
    compounds = Compound.objects.in_bulk([r["compound_id"] for r in rows])
    backlog = [(compounds[r["compound_id"]], r["open_count"], r["failed"]) for r in rows]
    return DistrictFigures(
        per_day=per_day,
        median_minutes=statistics.median(durations) if durations else None,
        backlog=backlog,
    )
