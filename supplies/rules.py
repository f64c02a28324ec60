"""Who may do what with supplies, and the bounds an order stays within. Forms, the API and the
services all check here."""

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from compounds.models import Compound
from residents import codes
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import Graph

from .models import GroupBuyStatus, OrderStatus

ORGANISERS = {Role.SECRETARY}
READERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}
DELIVERERS = {Role.VOLUNTEER, Role.SECRETARY}

# Bounds of an order: no household eats 1,000 bags of rice in a week.
MAX_QUANTITY = 99
MAX_LINES = 50
MAX_PRICE = Decimal("99999")
MAX_AMOUNT = Decimal("99999")
# A handover code: six digits, five tries, then the volunteer asks for a new one.
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5
MAX_CODES_SENT = 3
# Ordering through a compound's link: a code lives ten minutes, five tries; three codes an hour
# per number, five per door, and per link what settings say (every request counts, whether
# or not it sent an SMS); a household that proved itself orders for half an hour.
# (The code's life and limits are residents.codes', shared with the household's own link.)
SELF_CODE_MINUTES = codes.CODE_MINUTES
SELF_CODE_ATTEMPTS = codes.CODE_ATTEMPTS
SELF_CODES_PER_HOUR = codes.CODES_PER_HOUR
SELF_CODES_PER_DOOR_HOUR = codes.CODES_PER_DOOR_HOUR
SELF_SESSION_MINUTES = 30
# A claim takes at most this many orders at once (a building's batch).
MAX_BATCH = 200
# An open order older than this is overdue on the order list.
OVERDUE_AFTER = datetime.timedelta(hours=48)

MSG_QUANTITY = _("Quantities are whole numbers from 0 to %(max)d.")
MSG_NOTHING = _("Order at least one item.")
MSG_AMOUNT = _("Give an amount between 0 and %(max)s yuan.")


def self_codes_per_link_hour() -> int:
    """Requests for a code a compound's ordering link takes an hour, all numbers and doors
    together (WUYI_SELF_CODES_PER_LINK_HOUR): what one client holding the link can spend."""
    return int(settings.WUYI_SELF_CODES_PER_LINK_HOUR)


def may_organise(user: Any) -> bool:
    """Group buys, suppliers, accepting and cancelling orders, payments: the secretary."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_read_figures(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in READERS)


def may_enter_orders(user: Any) -> bool:
    """The secretary at the desk, a volunteer on the phone with a household."""
    return active(user) and (user.is_superuser or user.role in DELIVERERS)


def may_deliver(user: Any, compound_id: int) -> bool:
    """A volunteer (or the secretary) who may see the compound."""
    if not (active(user) and (user.is_superuser or user.role in DELIVERERS)):
        return False
    return Compound.objects.visible_to(user).filter(pk=compound_id).exists()


def may_carry(user: Any) -> bool:
    """Takes orders out for delivery (which compounds: may_deliver, per compound)."""
    return active(user) and (user.is_superuser or user.role in DELIVERERS)


def is_claimer(user: Any, order: Any) -> bool:
    """The volunteer who claimed the order (delivers it, fails it, gives it back)."""
    return active(user) and order.claimed_by_id == user.pk


S = OrderStatus
# An order's statuses: the secretary accepts, buys and cancels; a volunteer claims a bought
# (or failed) order, and its claimer delivers it, fails it or gives it back. A group buy moves
# its orders on with it (closed: submitted → accepted; purchased: accepted → purchased).
ORDER = Graph(
    "order",
    OrderStatus,
    {
        S.SUBMITTED: {S.ACCEPTED: may_organise, S.CANCELLED: may_organise},
        S.ACCEPTED: {S.PURCHASED: may_organise, S.CANCELLED: may_organise},
        S.PURCHASED: {S.OUT_FOR_DELIVERY: may_carry, S.CANCELLED: may_organise},
        S.OUT_FOR_DELIVERY: {
            S.DELIVERED: is_claimer,
            S.FAILED: is_claimer,
            S.PURCHASED: is_claimer,
        },
        S.FAILED: {S.OUT_FOR_DELIVERY: may_carry, S.CANCELLED: may_organise},
        S.DELIVERED: {},
        S.CANCELLED: {},
    },
)
# The moves the secretary makes on one order's page (order_set_status); the others have
# their own services (orders_claim, order_mark_delivered, order_mark_failed, order_release).
SET_BY_ORGANISER = (S.ACCEPTED, S.PURCHASED, S.CANCELLED)

G = GroupBuyStatus
# A group buy goes one step at a time, by the secretary.
GROUP_BUY = Graph(
    "group buy",
    GroupBuyStatus,
    {
        G.OPEN: {G.CLOSED: may_organise},
        G.CLOSED: {G.PURCHASED: may_organise},
        G.PURCHASED: {G.DELIVERING: may_organise},
        G.DELIVERING: {G.DONE: may_organise},
        G.DONE: {},
    },
)


def clean_quantity(value: Any) -> int:
    """A whole number from 0 to MAX_QUANTITY ("2", 2 and 2.0 are two; -1, 1.5, 1e9 are not)."""
    if isinstance(value, bool):
        raise Refused(MSG_QUANTITY % {"max": MAX_QUANTITY}, field="quantities")
    try:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            value = int(value)
        number = int(str(value).strip() or "0")
    except (TypeError, ValueError):
        raise Refused(MSG_QUANTITY % {"max": MAX_QUANTITY}, field="quantities") from None
    if not 0 <= number <= MAX_QUANTITY:
        raise Refused(MSG_QUANTITY % {"max": MAX_QUANTITY}, field="quantities")
    return number


@overload
def clean_amount(value: Any, *, field: str = ..., required: Literal[True] = ...) -> Decimal: ...
@overload
def clean_amount(value: Any, *, field: str = ..., required: bool) -> Decimal | None: ...
def clean_amount(value: Any, *, field: str = "amount", required: bool = True) -> Decimal | None:
    """Yuan, two decimals, 0 to MAX_AMOUNT; None for an empty value only when not required."""
    if value in (None, "") and not required:
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal(-1)
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_AMOUNT:
        raise Refused(MSG_AMOUNT % {"max": MAX_AMOUNT}, field=field)
    return amount.quantize(Decimal("0.01"))
