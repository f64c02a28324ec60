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

from compounds.figures import Alert, Contribution, Figure
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
    sent = Recipient.objects.filter(
        message__community__in=communities, sent_at__gte=start, sent_at__lt=end
    ).count()
    money = _month_money(communities, places.day.replace(day=1))
    budget, spent = money["budget"] or Decimal(0), money["spent"] or Decimal(0)
    url = reverse("messaging:daily") if may else ""
    found = Contribution(
        figures=[
            Figure("messaging.sent_today", section, _("SMS sent today"), sent, url=url, order=90),
            Figure(
                "messaging.spent",
                section,
                _("SMS spent this month"),
                float(spent),
                unit=_("yuan"),
                note=_("Charged to the communities' SMS budgets"),
                order=91,
            ),
            Figure(
                "messaging.budget",
                section,
                _("SMS budget this month"),
                float(budget),
                unit=_("yuan"),
                order=92,
            ),
            Figure(
                "messaging.budget_share",
                section,
                _("Share of the SMS budget spent"),
                round(100 * spent / budget) if budget else None,
                unit="%",
                order=93,
            ),
        ]
    )
    if places.brief:
        return found
    found.alerts.extend(_alerts(places, communities, over=money["over"], may=may))
    return found


def _month_money(communities: Any, month: datetime.date) -> dict[str, Any]:
    """The month's budget and campaign spending of the communities, and how many of them spent
    over BUDGET_WARNING of their budget: one query."""
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
    return (
        communities.annotate(line=limit, used=Coalesce(spent_here, Value(Decimal(0))))
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
