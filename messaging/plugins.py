"""What messaging plugs into lower apps' registries (registered in MessagingConfig.ready): the
dashboards' SMS figures (compounds.figures)."""

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Alert, Contribution, Figure, Split, tally
from compounds.models import Community
from wuyi.lib.localday import bounds

from . import rules
from .models import Allowance, Budget, Recipient, RecipientStatus, Spending

# The share of a month's SMS budget above which a community is named in the alerts.
BUDGET_WARNING = Decimal("0.9")
# Messages due this long ago and still queued: the outbox is backing up.
OUTBOX_LAG = datetime.timedelta(minutes=15)


def figures(places: Any) -> Contribution:
    """SMS sent today, this month's spending against the budget of the communities concerned,
    the communities above 90 % and the outbox backing up. At most five queries."""
    section = _("SMS")
    may = places.user is not None and rules.may_see_daily(places.user)
    communities = Community.objects.filter(pk__in=places.community_ids())
    start, end = bounds(places.day)
    sent = tally(
        places,
        Recipient.objects.filter(
            message__community__in=communities, sent_at__gte=start, sent_at__lt=end
        ),
        community="message__community_id",
        n=Count("pk"),
    )
    month = places.day.replace(day=1)
    money = _month_money(communities, month)
    budget, spent = money["budget"] or Decimal(0), money["spent"] or Decimal(0)
    split: dict[str, Split | None] = dict.fromkeys(("spent", "budget", "share"))
    if places.by_community:
        split = _money_by_community(communities, month)
    url = reverse("messaging:daily") if may else ""
    found = Contribution(
        figures=[
            Figure(
                "messaging.sent_today",
                section,
                _("SMS sent today"),
                sent["n"],
                note=_("Text messages handed to the provider today"),
                url=url,
                order=90,
                per=sent.split("n"),
            ),
            Figure(
                "messaging.spent",
                section,
                _("SMS spent this month"),
                float(spent),
                unit=_("yuan"),
                note=_("Charged to the communities' SMS budgets"),
                url=url,
                order=91,
                per=split["spent"],
            ),
            Figure(
                "messaging.budget",
                section,
                _("SMS budget this month"),
                float(budget),
                unit=_("yuan"),
                note=_("The communities' monthly SMS budgets"),
                url=url,
                order=92,
                per=split["budget"],
            ),
            Figure(
                "messaging.budget_share",
                section,
                _("Share of the SMS budget spent"),
                _share(spent, budget),
                unit="%",
                note=_("This month's spending of the SMS budget"),
                url=url,
                order=93,
                per=split["share"],
            ),
        ]
    )
    if places.brief:
        return found
    found.alerts.extend(_alerts(places, communities, over=money["over"], may=may))
    return found


def _share(spent: Decimal, budget: Decimal) -> int | None:
    return round(100 * spent / budget) if budget else None


def _money_by_community(communities: Any, month: datetime.date) -> dict[str, Split | None]:
    """The month's spending, budget and share of each community (the daily report): one
    query."""
    rows = list(_with_money(communities, month).values_list("pk", "line", "used"))
    return {
        "spent": Split({pk: float(used) for pk, _line, used in rows}),
        "budget": Split({pk: float(line) for pk, line, _used in rows}),
        "share": Split({pk: _share(used, line) for pk, line, used in rows}, default=None),
    }


def _with_money(communities: Any, month: datetime.date) -> Any:
    """The communities with their month's budget (`line`) and campaign spending (`used`)."""
    default = Decimal(settings.WUYI_SMS_DEFAULT_MONTHLY_BUDGET)
    limit = Coalesce(
        Subquery(Budget.objects.filter(community=OuterRef("pk")).values("monthly_amount")[:1]),
        Value(default),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    spent_here = Subquery(
        Spending.objects.filter(
            community=OuterRef("pk"), month=month, allowance=Allowance.CAMPAIGN
        ).values("spent")[:1]
    )
    return communities.annotate(line=limit, used=Coalesce(spent_here, Value(Decimal(0))))


def _month_money(communities: Any, month: datetime.date) -> dict[str, Any]:
    """The month's budget and campaign spending of the communities, and how many of them spent
    over BUDGET_WARNING of their budget: one query."""
    return (
        _with_money(communities, month)
        .order_by()
        .aggregate(
            budget=Sum("line"),
            spent=Sum("used"),
            over=Count("pk", filter=Q(used__gt=F("line") * BUDGET_WARNING)),
        )
    )


def _alerts(places: Any, communities: Any, *, over: int, may: bool) -> list[Alert]:
    """Communities over their budget, and an outbox backing up."""
    alerts = []
    if over:
        alerts.append(
            Alert(
                "messaging-budget",
                _("%(n)d communities have spent over 90 %% of this month's SMS budget.")
                % {"n": over},
                over,
                url=reverse("messaging:list") if may else "",
            )
        )
    backlog = Recipient.objects.filter(
        message__community__in=communities,
        status=RecipientStatus.QUEUED,
        due_at__lt=places.now - OUTBOX_LAG,
    ).count()
    if backlog:
        alerts.append(
            Alert(
                "messaging-outbox",
                _(
                    "%(n)d SMS are still queued over 15 minutes after they were due: the "
                    "outbox is backing up (is the dispatcher running?)."
                )
                % {"n": backlog},
                backlog,
                url=reverse("messaging:list") if may else "",
                danger=True,
            )
        )
    return alerts
