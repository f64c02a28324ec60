"""What of the register the signed-in user may open, for the navigation (templates/base.html):
the same predicates the pages check (rules.may_read_register, rules.may_read_ledger)."""

from typing import Any

from django.http import HttpRequest

from .rules import may_read_ledger, may_read_register


def register_reach(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "register_reach": {"register": may_read_register(user), "ledger": may_read_ledger(user)}
    }
