"""What supplies plugs into lower apps' registries: the compound page's panel, 今日任务 and the
register's served households (registered in SuppliesConfig.ready)."""

import datetime
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compounds.models import Compound
from residents.registry import Contact, ResidentIds, id_filter
from volunteers.registry import ERRAND, Task
from wuyi.lib import localday

from . import selectors
from .models import (
    GroupBuy,
    GroupBuyStatus,
    Order,
    OrderStatus,
)


def serves_household(user: Any, household_id: int) -> bool:
    """The register's served households (residents.registry): a volunteer carrying an order to
    this household's door may call it, until it is delivered or given back. One query."""
    return Order.objects.filter(
        claimed_by_id=getattr(user, "pk", None),
        household_id=household_id,
        status=OrderStatus.OUT_FOR_DELIVERY,
    ).exists()


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """Deliveries in 今日任务 (registered in SuppliesConfig.ready): one row per building the
    user carries orders to, then one per building waiting to be claimed. One query."""
    if getattr(user, "role", None) != "volunteer" or day != timezone.localdate():
        return []
    url = reverse("supplies:deliveries")
    buildings = selectors.today_deliveries(user=user)
    carried = [
        Task(
            key=f"delivery:{b.building_id}",
            kind=_("Delivery"),
            title=b.label,
            detail=_("%(count)d to bring · %(compound)s")
            % {"count": b.carried, "compound": b.compound},
            url=url,
            rank=10,
        )
        for b in buildings
        if b.carried
    ]
    waiting = [
        Task(
            key=f"delivery-wait:{b.building_id}",
            kind=_("Delivery"),
            title=b.label,
            detail=_("%(count)d waiting to be claimed · %(compound)s")
            % {"count": b.waiting, "compound": b.compound},
            url=url,
            rank=ERRAND,
        )
        for b in buildings
        if b.waiting
    ]
    return carried + waiting


def compound_panel(user: Any, compound: Compound):
    """Supplies on the compound page: open orders, failed deliveries, group buys taking
    orders (two queries); nothing when the compound never had an order."""
    from compounds.registry import CompoundPanel

    counts = Order.objects.filter(compound=compound).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=selectors.OPEN_STATUSES)),
        failed=Count("pk", filter=Q(status=OrderStatus.FAILED)),
    )
    if not counts["total"]:
        return None
    buys = GroupBuy.objects.filter(
        compounds=compound, status=GroupBuyStatus.OPEN, deadline__gt=timezone.now()
    ).count()
    return CompoundPanel(
        template="supplies/_compound_panel.html",
        context={"compound": compound, "counts": counts, "buys": buys},
        order=40,
    )


# ----------------------------------------------------------------------------- figures


def _delivery_hours(
    places: Any, first: Any, last: Any, *, by_community: bool = False
) -> tuple[Any, dict[Any, float]]:
    """Median hours from order to delivery for orders delivered from day `first` to `last`:
    overall and per day (per community id with `by_community`). One query (PostgreSQL
    aggregates; elsewhere the durations are read)."""
    import statistics

    from django.db.models import F
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from wuyi.lib.localday import bounds
    from wuyi.replica import reading_connection

    start, end = bounds(first, last)
    key = (
        F("compound__community_id")
        if by_community
        else TruncDate("delivered_at", tzinfo=timezone.get_default_timezone())
    )
    # order_delivered_idx holds every column read here.
    qs = (
        Order.objects.filter(
            compound__in=places.compound_ids(),
            status=OrderStatus.DELIVERED,
            delivered_at__gte=start,
            delivered_at__lt=end,
        )
        .annotate(day=key)
        .order_by()
        .values_list("day", "delivered_at", "submitted_at")
    )
    # The dashboards read on the replica when there is one (wuyi/replica.py): the ORM's reads
    # are routed there, this raw SQL goes where reading_connection() says.
    connection = reading_connection()
    if connection.vendor == "postgresql":
        # The inner query is Django's own, compiled with its parameters for that connection.
        inner, params = qs.query.get_compiler(using=connection.alias).as_sql()
        sql = (
            "SELECT t.day, percentile_cont(0.5) WITHIN GROUP (ORDER BY "  # noqa: S608
            "EXTRACT(EPOCH FROM (t.delivered - t.submitted))) "
            f"FROM ({inner}) AS t(day, delivered, submitted) GROUP BY ROLLUP(t.day)"
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        overall = next((secs for day, secs in rows if day is None), None)
        per_day = {day: secs / 3600 for day, secs in rows if day is not None}
        return (overall / 3600 if overall is not None else None), per_day
    by_day: dict[Any, list[float]] = {}
    for day, delivered, submitted in qs:
        if delivered is not None:  # always, for a delivered order
            by_day.setdefault(day, []).append((delivered - submitted).total_seconds() / 3600)
    every = [h for hours in by_day.values() for h in hours]
    return (
        statistics.median(every) if every else None,
        {day: statistics.median(hours) for day, hours in by_day.items()},
    )


def figures(places: Any) -> Any:
    """The dashboards' supply figures (compounds.figures): orders waiting, those waiting over
    24 hours, the median time from order to delivery over 7 days and per day. Two queries."""
    import datetime

    from django.db.models import Count, Q
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from compounds.figures import Contribution, Figure, Split, last_days, tally

    from . import rules
    from .models import OPEN_STATUSES

    section = _("Supplies")
    url = reverse("supplies:orders") if places.user and rules.may_read_figures(places.user) else ""
    late = places.now - datetime.timedelta(hours=24)
    counts = tally(
        places,
        Order.objects.filter(compound__in=places.compound_ids(), status__in=OPEN_STATUSES),
        community="compound__community_id",
        waiting=Count("pk"),
        late=Count("pk", filter=Q(submitted_at__lt=late)),
    )
    days = last_days(places.day, 7)
    overall, per_day = _delivery_hours(
        places, days[0], places.day, by_community=places.by_community
    )
    medians = (
        Split({c: round(h, 1) for c, h in per_day.items()}, default=None)
        if places.by_community
        else None
    )
    found = Contribution(
        figures=[
            Figure(
                "supplies.waiting",
                section,
                _("Orders waiting"),
                counts["waiting"],
                note=_("Orders not yet delivered or cancelled"),
                url=url,
                order=40,
                per=counts.split("waiting"),
            ),
            Figure(
                "supplies.late",
                section,
                _("Orders waiting over 24 h"),
                counts["late"],
                note=_("Orders submitted over 24 hours ago, not yet delivered or cancelled"),
                url=f"{url}?overdue=1" if url else "",
                order=41,
                per=counts.split("late"),
            ),
            Figure(
                "supplies.median_hours",
                section,
                _("Median time from order to delivery"),
                round(overall, 1) if overall is not None else None,
                unit=_("hours"),
                note=_("Orders delivered in the last 7 days"),
                url=url,
                order=42,
                per=medians,
            ),
        ]
    )
    if not places.brief:
        found.add(_late_and_times(counts["late"], per_day, days, url))
    return found


def _late_and_times(late: int, per_day: dict[Any, float], days: list[Any], url: str) -> Any:
    """The overview's part: the alert for orders waiting over 24 hours, and the chart of the
    delivery times per day."""
    from compounds.figures import Alert, Chart, Contribution

    found = Contribution()
    if late:
        found.alerts.append(
            Alert(
                "supplies-late",
                _("%(n)d orders have waited over 24 hours.") % {"n": late},
                late,
                url=f"{url}?overdue=1" if url else "",
            )
        )
    found.charts.append(
        Chart(
            "supplies.delivery_hours",
            _("Median hours from order to delivery, per day"),
            [d.strftime("%m-%d") for d in days],
            [(_("Hours"), [round(per_day[d], 1) if d in per_day else None for d in days])],
            unit=_("hours"),
            order=40,
        )
    )
    return found


def _delivered(resident_ids: ResidentIds, day: datetime.date) -> Any:
    start, end = localday.bounds(day)
    return Order.objects.filter(
        status=OrderStatus.DELIVERED,
        delivered_at__gte=start,
        delivered_at__lt=end,
        household__residents__id__in=id_filter(resident_ids),
    )


def delivery_contacts(resident_ids: ResidentIds, day: datetime.date) -> dict[int, list[Any]]:
    """The ledger's served today (residents.registry.register_contacts): the residents of each
    household whose order was handed over on `day` (`resident_ids`: ids or a queryset of
    them). One query."""
    found: dict[int, list[Any]] = defaultdict(list)
    rows = _delivered(resident_ids, day).values_list("household__residents__id", "delivered_at")
    for resident_id, at in rows:
        found[resident_id].append(Contact(kind="delivery", label=gettext_lazy("Delivered"), at=at))
    return found


def delivery_reached(resident_ids: ResidentIds, day: datetime.date) -> Any:
    """The same residents as a queryset of their ids, not run (residents.registry.reached_ids)."""
    return _delivered(resident_ids, day).values("household__residents__id")


def need_to_order(*, by: Any, resident: Any, text: str, key: str, when: Any = None) -> str:
    """A resident's need for supplies (a welfare check's, residents.registry.NeedTurn) as a
    proxy purchase for their household, in one tap: what to buy is the need's words.
    Idempotent by `key` (the need's)."""
    from .services import proxy_submit

    order = proxy_submit(
        by=by,
        household=resident.household,
        items=text,
        client_key=key,
        note=_("From a welfare check: %(name)s") % {"name": resident.name},
    )
    return _("Proxy purchase #%(pk)d") % {"pk": order.pk}
