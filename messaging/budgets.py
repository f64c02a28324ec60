"""SMS budgets: what each community may spend a month on each budget line, what it spent, the
charge every message makes, and district staff setting the amounts (budget_set: the page and
nothing else; the admin shows them read-only).

Every SMS is charged to a community, on one of its budget lines (Allowance): the SMS budget
(campaigns), the system allowance (texts people need to do their job; when it runs out they
draw on the budget) and the public allowance (ordering codes residents ask for; never more).
What a line spent in a month is a counter (Spending), charged by one conditional UPDATE
(``spent + cost <= limit``) as the last statement of the transaction that writes the
message: the row is locked only while that transaction commits, never across a batch, and
two writers racing for the last yuan are judged one after the other (PostgreSQL re-reads the
row the first one committed and re-checks the condition). A caller must not send inside a
longer transaction of its own (queue the SMS on commit): the lock would last as long.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Community
from wuyi.lib import cn
from wuyi.lib.errors import Refused
from wuyi.lib.money import yuan

from . import rules
from .models import Allowance, Budget, Message, Spending

MONEY = DecimalField(max_digits=13, decimal_places=3)

MSG_OVER_BUDGET = _(
    "This would cost about %(cost)s yuan, but only %(left)s yuan of %(community)s's SMS budget "
    "for %(month)s is left (%(limit)s yuan a month). Nothing was sent. Narrow the audience, or "
    "ask the district to raise the budget."
)
MSG_OVER_ALLOWANCE = _(
    "This would cost about %(cost)s yuan, but %(community)s's allowance for “%(line)s” for "
    "%(month)s is used up (%(limit)s yuan a month). Nothing was sent: ask the district to "
    "raise it."
)

A = Allowance
# A system text whose own allowance is used up draws on the community's budget.
FALLBACK: dict[str, tuple[str, ...]] = {
    A.CAMPAIGN: (A.CAMPAIGN,),
    A.SYSTEM: (A.SYSTEM, A.CAMPAIGN),
    A.PUBLIC: (A.PUBLIC,),
}


def month_of(at: datetime.datetime) -> datetime.date:
    """The budget month of a message sent at `at`: its first day, Asia/Shanghai."""
    return timezone.localtime(at).date().replace(day=1)


def budget_limits(community_id: int) -> dict[str, Decimal]:
    """Each line's monthly amount for the community (rules.budget_default where none is set)."""
    found = (
        Budget.objects.filter(community_id=community_id)
        .values("monthly_amount", "system_amount", "public_amount")
        .first()
    )
    return limits_of(dict(found) if found else None)


COLUMNS: dict[str, str] = {
    A.CAMPAIGN: "monthly_amount",
    A.SYSTEM: "system_amount",
    A.PUBLIC: "public_amount",
}


def limits_of(row: dict[str, Any] | Budget | None) -> dict[str, Decimal]:
    """Each line's amount from a Budget (or its values), the default where it sets none."""
    limits: dict[str, Decimal] = {}
    for line, column in COLUMNS.items():
        value = row.get(column) if isinstance(row, dict) else getattr(row, column, None)
        limits[line] = rules.budget_default(line) if value is None else Decimal(value)
    return limits


def budget_spent(community_id: int, at: datetime.datetime, allowance: str = A.CAMPAIGN) -> Decimal:
    """What the line spent in the month of `at` (the counter messages are charged to)."""
    spent = (
        Spending.objects.filter(community_id=community_id, month=month_of(at), allowance=allowance)
        .values_list("spent", flat=True)
        .first()
    )
    return spent if spent is not None else Decimal("0")


def _take(
    community_id: int, month: datetime.date, line: str, cost: Decimal, limit: Decimal
) -> bool:
    """Charge `cost` to the line if it fits: one conditional UPDATE (the month's row is made
    the first time, ON CONFLICT DO NOTHING, by whichever writer comes first)."""
    if cost > limit:
        return False
    line_rows = Spending.objects.filter(community_id=community_id, month=month, allowance=line)
    if line_rows.filter(spent__lte=limit - cost).update(spent=F("spent") + cost):
        return True
    if line_rows.exists():
        return False
    Spending.objects.bulk_create(
        [Spending(community_id=community_id, month=month, allowance=line)],
        ignore_conflicts=True,
    )
    return bool(line_rows.filter(spent__lte=limit - cost).update(spent=F("spent") + cost))


def budget_charge(
    *, community_id: int, allowance: str, at: datetime.datetime, cost: Decimal
) -> str:
    """Charge a message's cost to the community's line for `allowance` (a system text falls
    back to the budget): the line charged. Refused when none has room; the caller's
    transaction then writes nothing."""
    month = month_of(at)
    limits = budget_limits(community_id)
    for line in FALLBACK[allowance]:
        if _take(community_id, month, line, cost, limits[line]):
            return line
    community = Community.objects.get(pk=community_id)
    limit = limits[allowance]
    left = limit - budget_spent(community_id, at, allowance)
    values = {
        "cost": yuan(cost),
        "left": yuan(max(left, Decimal("0"))),
        "limit": yuan(limit),
        "community": community.name,
        "month": timezone.localtime(at).strftime("%Y-%m"),
        "line": str(Allowance(allowance).label),
    }
    text = MSG_OVER_BUDGET if allowance == A.CAMPAIGN else MSG_OVER_ALLOWANCE
    raise Refused(text % values, code="over_budget")


def budget_refund(*, message: Message, amount: Decimal) -> None:
    """Give back to the line a message was charged to (what a cancel stopped)."""
    if message.community_id is None or amount <= 0:
        return
    Spending.objects.filter(
        community_id=message.community_id,
        month=month_of(message.send_at),
        allowance=message.allowance,
    ).update(spent=Greatest(F("spent") - amount, Value(Decimal("0")), output_field=MONEY))


MSG_DISTRICT_ONLY = _("Budgets are set by district staff.")


def budget_set(
    *,
    by: User,
    community: Community,
    amount: Any,
    system_amount: Any = None,
    public_amount: Any = None,
    note: Any = "",
) -> Budget:
    """District staff (or an administrator) set a community's monthly amounts: the SMS budget,
    and the system and public allowances (empty: the default). Refused names each field at
    fault (negative, more than two decimals, too large) and changes nothing. A month's
    spending is kept: a budget set below it refuses what comes next, sends nothing back."""
    if not rules.may_set_budget(by):
        raise PermissionDenied(MSG_DISTRICT_ONLY)
    if not Community.objects.visible_to(by).filter(pk=community.pk).exists():
        raise PermissionDenied(MSG_DISTRICT_ONLY)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    given = {"monthly_amount": amount, "system_amount": system_amount}
    given["public_amount"] = public_amount
    for field, value in given.items():
        try:
            values[field] = rules.clean_budget_amount(
                value, field=field, required=field == "monthly_amount"
            )
        except Refused as refused:
            errors.update(refused.errors)
    try:
        values["note"] = cn.clean_text(note, max_length=200, field="note")
    except Refused as refused:
        errors.update(refused.errors)
    if errors:
        raise Refused.of_fields(errors)
    budget, _created = Budget.objects.update_or_create(
        community=community, defaults={**values, "updated_at": timezone.now()}
    )
    return budget
