"""Every write on supplies, as ``services.<name>``: every public name of the modules below is
re-exported here. Pages, the API, seed_demo and the bench call these; each rule lives here once,
and every refusal changes nothing.

- buys: suppliers, catalogue, group buys
- orders: orders and proxy purchases entered, moved by the secretary, paid
- delivery: claiming, handover codes, delivering, failing, giving back
- self_order: the residents' ordering link and its codes
"""

from .buys import (
    catalogue_item_save,
    group_buy_advance,
    group_buy_create,
    supplier_save,
)
from .delivery import (
    _send_code,
    delivery_rule_set,
    order_call,
    order_mark_delivered,
    order_mark_failed,
    order_release,
    order_resend_code,
    orders_claim,
    payment_note_set,
    proof_of,
)
from .orders import (
    order_record_payment,
    order_set_status,
    order_submit,
    order_undo_payment,
    proxy_submit,
)
from .self_order import (
    order_link_get_or_create,
    order_link_revoke,
    self_code_check,
    self_code_deliver,
    self_code_request,
    self_codes_purge,
)

__all__ = [
    "_send_code",
    "catalogue_item_save",
    "delivery_rule_set",
    "group_buy_advance",
    "group_buy_create",
    "order_call",
    "order_link_get_or_create",
    "order_link_revoke",
    "order_mark_delivered",
    "order_mark_failed",
    "order_record_payment",
    "order_release",
    "order_resend_code",
    "order_set_status",
    "order_submit",
    "order_undo_payment",
    "orders_claim",
    "payment_note_set",
    "proof_of",
    "proxy_submit",
    "self_code_check",
    "self_code_deliver",
    "self_code_request",
    "self_codes_purge",
    "supplier_save",
]
