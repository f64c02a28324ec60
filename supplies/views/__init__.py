"""Pages: the secretary's group-buy board, order entry, picking lists and reconciliation; the
volunteer's deliveries on the phone; the district's figures; the residents' ordering link."""

from .buys import (
    board,
    buy_add,
    buy_advance,
    buy_detail,
    picking,
    reconciliation,
    reconciliation_xlsx,
    suppliers,
)
from .delivery import claim, deliver, deliveries, figures, order_call, order_photo
from .links import link_poster, links, self_order
from .orders import (
    order_add,
    order_detail,
    order_pay,
    order_status,
    order_unpay,
    orders,
    proxy_add,
)

__all__ = [
    "board",
    "buy_add",
    "buy_advance",
    "buy_detail",
    "claim",
    "deliver",
    "deliveries",
    "figures",
    "link_poster",
    "links",
    "order_add",
    "order_call",
    "order_detail",
    "order_pay",
    "order_photo",
    "order_status",
    "order_unpay",
    "orders",
    "picking",
    "proxy_add",
    "reconciliation",
    "reconciliation_xlsx",
    "self_order",
    "suppliers",
]
