"""What supplies plugs into lower apps' registries (registered in SuppliesConfig.ready)."""

from typing import Any

from .models import Order, OrderStatus


def serves_household(user: Any, household_id: int) -> bool:
    """The register's served households (residents.registry): a volunteer carrying an order to
    this household's door may call it, until it is delivered or given back. One query."""
    return Order.objects.filter(
        claimed_by_id=getattr(user, "pk", None),
        household_id=household_id,
        status=OrderStatus.OUT_FOR_DELIVERY,
    ).exists()
