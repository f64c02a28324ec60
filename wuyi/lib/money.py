"""Money as committees read it: yuan, to the tenth of a cent when a price has one.

An SMS costs 0.045 yuan: shown in cents it reads 0.04 (or 0.05), and a budget adds up wrong
in the reader's head. Amounts show two decimals, and a third when it is not zero:
0.045, 0.135, 12.50, 1000.00. Also a template filter: ``{% load money %}{{ cost|yuan }}``
(registered in settings.TEMPLATES as the "money" library).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

MILLI = Decimal("0.001")
CENT = Decimal("0.01")

register = template.Library()


@register.filter
def yuan(value: Any) -> str:
    """'0.045' for Decimal('0.045'), '12.50' for 12.5; '' for None or what is no number."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(MILLI, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return ""
    cents = amount.quantize(CENT)
    return f"{cents:.2f}" if cents == amount else f"{amount:.3f}"
