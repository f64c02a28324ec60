"""What supplies plugs into lower apps' registries: the compound page's panel, 今日任务 and the
register's served households (registered in SuppliesConfig.ready)."""

import datetime
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import Compound
from volunteers.registry import ERRAND, Task

from . import selectors
from .models import (
    GroupBuy,
    GroupBuyStatus,
    Order,
    OrderStatus,
)


def serves_household(user: Any, household_id: int) -> bool:
    """The register's served households (residents.registry): a volunteer carrying an order to
    this household's door may call it, until it is delivered or given back. One query."""
    return Order.objects.filter(
        claimed_by_id=getattr(user, "pk", None),
        household_id=household_id,
        status=OrderStatus.OUT_FOR_DELIVERY,
    ).exists()


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
