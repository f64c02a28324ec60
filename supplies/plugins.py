"""What supplies plugs into lower apps' registries (registered in SuppliesConfig.ready)."""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from wuyi.lib import localday

from .models import Order, OrderStatus


def serves_household(user: Any, household_id: int) -> bool:
    """The register's served households (residents.registry): a volunteer carrying an order to
    this household's door may call it, until it is delivered or given back. One query."""
    return Order.objects.filter(
        claimed_by_id=getattr(user, "pk", None),
        household_id=household_id,
        status=OrderStatus.OUT_FOR_DELIVERY,
    ).exists()


def delivery_contacts(resident_ids: Sequence[int], day: datetime.date) -> dict[int, list[Any]]:
    """The ledger's served today (residents.registry.register_contacts): the residents of each
    household whose order was handed over on `day`. One query."""
    from residents.registry import Contact

    start, end = localday.bounds(day)
    found: dict[int, list[Any]] = defaultdict(list)
    rows = Order.objects.filter(
        status=OrderStatus.DELIVERED,
        delivered_at__gte=start,
        delivered_at__lt=end,
        household__residents__id__in=list(resident_ids),
    ).values_list("household__residents__id", "delivered_at")
    for resident_id, at in rows:
        found[resident_id].append(Contact(kind="delivery", label=_("Delivered"), at=at))
    return found
