"""Reads on the outbox: the preview of a campaign, a message's results, SMS sent per community
per day, the month's budget. Constant query counts."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compounds.models import Community
from wuyi.lib import cn, pii

from . import budgets, rules, services
from .models import Allowance, Budget, Message, OptOut, Recipient, RecipientStatus, Spending

S = RecipientStatus


def messages_for(user: User) -> QuerySet[Message]:
    return Message.objects.visible_to(user).select_related("template", "sender", "community")


@dataclass
class Preview:
    count: int
    without_mobile: int
    opted_out: int
    segments: int
    cost: Decimal
    sample: str
    sign_name: str
    send_at: datetime.datetime
    held_until: datetime.datetime | None  # quiet hours: when it will really go out
    budget: Decimal | None
    budget_left: Decimal | None
    description: str
    community: str = ""  # the community whose budget pays

    @property
    def over_budget(self) -> bool:
        return self.budget_left is not None and self.cost > self.budget_left


def campaign_preview(
    *,
    by: User,
    template_id: Any,
    variables: Mapping[str, Any],
    audience: str,
    targets: Sequence[str],
    send_at: datetime.datetime | None,
    urgent: bool = False,
    community: Any = None,
) -> Preview:
    """How many it reaches, what it costs, how it reads, which community pays: the rules
    checked as for sending (Refused the same way), nothing written."""
    from django.conf import settings

    draft = services.campaign_check(
        by=by,
        template_id=template_id,
        variables=variables,
        audience=audience,
        targets=targets,
        send_at=send_at,
        urgent=urgent,
        community=community,
    )
    phones: dict[str, dict[str, str] | None] = {}
    without = 0
    for phone, own in draft.audience.rows:
        if cn.is_mobile(phone):
            phones.setdefault(phone, own)
        else:
            without += 1
    hashes = {pii.keyed_hash(p) for p in phones}
    opted = OptOut.objects.filter(phone_hash__in=hashes).count() if hashes else 0
    first = next(iter(phones.values()), None) or {}
    sample = draft.template.render({**draft.variables, **first})
    cost = (rules.unit_cost(sample) * len(phones)).quantize(services.MILLI)
    # What the send will be charged against: the same counter, the same month.
    community_id = draft.place.community_id
    budget = left = None
    payer = ""
    if community_id is not None:
        budget = budgets.budget_limits(community_id)[Allowance.CAMPAIGN]
        left = budget - budgets.budget_spent(community_id, draft.send_at)
        payer = Community.objects.filter(pk=community_id).values_list("name", flat=True).get()
    held = None
    if not draft.urgent and rules.in_quiet_hours(draft.send_at):
        held = rules.quiet_hours_end(draft.send_at)
    return Preview(
        count=len(phones),
        without_mobile=without,
        opted_out=opted,
        segments=rules.segments(sample),
        cost=cost,
        sample=sample,
        sign_name=settings.WUYI_SMS_SIGN_NAME,
        send_at=draft.send_at,
        held_until=held,
        budget=budget,
        budget_left=left,
        description=draft.audience.description,
        community=payer,
    )


@dataclass
class Results:
    message: Message
    counts: dict[str, int]
    total: int
    done: int  # handed to the provider (sent, delivered or failed)
    delivered: int
    failed: int
    waiting: int  # queued or sending
    delivery_rate: float | None  # delivered / (delivered + failed + sent)
    reasons: list[tuple[str, int]]
    status: str

    @property
    def labels(self) -> list[tuple[str, str, int]]:
        return [(value, str(label), self.counts.get(value, 0)) for value, label in S.choices]


def message_status(message: Message, *, waiting: int | None = None) -> str:
    """scheduled, sending, done or cancelled (for the badge)."""
    if message.cancelled_at is not None:
        return "cancelled"
    if message.send_at > timezone.now():
        return "scheduled"
    if waiting is None or waiting:
        return "sending"
    return "done"


STATUS_LABELS = {
    "scheduled": _("Scheduled"),
    "sending": _("Sending"),
    "done": _("Done"),
    "cancelled": _("Cancelled"),
}


def message_results(*, message: Message) -> Results:
    """Counts by status, the delivery rate and the commonest failure reasons: two queries."""
    counts = dict(
        Recipient.objects.filter(message=message)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    reasons = list(
        Recipient.objects.filter(message=message, status=S.FAILED)
        .order_by()
        .values_list("last_error")
        .annotate(n=Count("id"))
        .order_by("-n", "last_error")[:10]
    )
    delivered = counts.get(S.DELIVERED, 0)
    failed = counts.get(S.FAILED, 0)
    sent = counts.get(S.SENT, 0)
    waiting = counts.get(S.QUEUED, 0) + counts.get(S.SENDING, 0)
    reported = delivered + failed + sent
    return Results(
        message=message,
        counts=counts,
        total=sum(counts.values()),
        done=reported,
        delivered=delivered,
        failed=failed,
        waiting=waiting,
        delivery_rate=(delivered / reported) if reported else None,
        reasons=[(reason or "—", n) for reason, n in reasons],
        status=message_status(message, waiting=waiting),
    )


def message_recipients(*, message: Message, status: str = "") -> QuerySet[Recipient]:
    qs = Recipient.objects.filter(message=message)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("id")


@dataclass
class DailyRow:
    community: str
    days: list[int]
    total: int


def sent_per_community_per_day(
    *, user: User, days: int = 14
) -> tuple[list[datetime.date], list[DailyRow]]:
    """SMS handed to the provider per community and day (Asia/Shanghai), the last `days` days,
    over the communities the user sees: one query."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        Recipient.objects.visible_to(user)
        .filter(sent_at__gte=start)
        .annotate(day=TruncDate("sent_at"))
        .order_by()
        .values_list("message__community__name", "day")
        .annotate(n=Count("id"))
    )
    dates = [first + datetime.timedelta(days=n) for n in range(days)]
    table: dict[str, dict[datetime.date, int]] = {}
    for community, day, n in rows:
        table.setdefault(community or "—", {})[day] = n
    result = [
        DailyRow(name, [by_day.get(d, 0) for d in dates], sum(by_day.values()))
        for name, by_day in sorted(table.items())
    ]
    return dates, result


@dataclass
class BudgetLine:
    community: Community
    amount: Decimal
    spent: Decimal
    system_amount: Decimal = Decimal("0")
    system_spent: Decimal = Decimal("0")


def budget_line(*, community_id: int, at: datetime.datetime | None = None) -> BudgetLine:
    """The community's budget and its system allowance this month: amount and spent."""
    at = at or timezone.now()
    community = Community.objects.get(pk=community_id)
    limits = budgets.budget_limits(community_id)
    spent = dict(
        Spending.objects.filter(community_id=community_id, month=budgets.month_of(at)).values_list(
            "allowance", "spent"
        )
    )
    return BudgetLine(
        community,
        limits[Allowance.CAMPAIGN],
        spent.get(Allowance.CAMPAIGN, Decimal("0")),
        limits[Allowance.SYSTEM],
        spent.get(Allowance.SYSTEM, Decimal("0")),
    )


def opt_outs_for(user: User) -> QuerySet[OptOut]:
    return OptOut.objects.visible_to(user).select_related("community", "created_by")


@dataclass
class CommunityBudget:
    """One community's monthly amounts and what each line spent this month."""

    community: Community
    budget: Budget | None  # None: every line at its default
    lines: list[tuple[str, Decimal, Decimal, bool]]  # (line's label, spent, limit, default)


def community_budgets(
    *, communities: Sequence[Community], at: datetime.datetime | None = None
) -> list[CommunityBudget]:
    """The budgets page's rows for these communities (a page of them): two queries."""
    month = budgets.month_of(at or timezone.now())
    ids = [c.pk for c in communities]
    found = {b.community_id: b for b in Budget.objects.filter(community_id__in=ids)}
    spent: dict[tuple[int, str], Decimal] = {
        (community_id, line): amount
        for community_id, line, amount in Spending.objects.filter(
            community_id__in=ids, month=month
        ).values_list("community_id", "allowance", "spent")
    }
    rows = []
    for community in communities:
        budget = found.get(community.pk)
        limits = budgets.limits_of(budget)
        lines = [
            (
                str(Allowance(line).label),
                spent.get((community.pk, line), Decimal("0")),
                limits[line],
                budget is None or getattr(budget, column) is None,
            )
            for line, column in budgets.COLUMNS.items()
        ]
        rows.append(CommunityBudget(community, budget, lines))
    return rows
