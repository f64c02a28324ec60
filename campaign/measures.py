"""The items the app measures, for many compounds at once: each kind is one query (or none)
whatever the number of compounds, so the district's progress page and the badges on the
compound list cost the same for 30 compounds and for 3,000.

A measure reads the lower apps' tables (sanitation, medical, supplies) and the compound's own
lockdown clock; none of them knows the campaign exists.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import LOCKED_DOWN, Compound
from medical.models import Ambulance, AmbulanceStatus, MedicalStaff
from medical.selectors import COVERED_STATUSES, MIN_AMBULANCES
from sanitation.models import Round, WasteRecord
from supplies.models import OPEN_STATUSES, Order

from .models import ItemKind
from .rules import ORDER_WAIT_HOURS, WASTE_DAYS_BACK


@dataclass(frozen=True)
class Figure:
    met: bool
    text: str  # what was measured, in a few words
    url: str = ""  # the list behind it
    days_left: int | None = None  # for "no case for N days": days until it is met


@dataclass(frozen=True)
class Context:
    today: datetime.date
    now: datetime.datetime
    no_case_days: dict[int, int]  # district id → N


Measure = Callable[[Sequence[Compound], Context], dict[int, Figure]]


def _ids(compounds: Sequence[Compound]) -> list[int]:
    return [c.pk for c in compounds]


_SLOT = 987654321


def _url(name: str) -> Callable[[int], str]:
    """The URL of `name` for any pk, reversed once (not once per compound of 3,000)."""
    template = reverse(name, args=[_SLOT])
    return lambda pk: template.replace(str(_SLOT), str(pk))


def no_case(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    found = {}
    detail = _url("compounds:detail")
    for c in compounds:
        n = ctx.no_case_days.get(c.district_id, 14)
        url = detail(c.pk)
        if c.last_positive_on is None:
            found[c.pk] = Figure(True, _("no positive case recorded"), url)
            continue
        days = (ctx.today - c.last_positive_on).days
        found[c.pk] = Figure(
            days >= n,
            _("%(days)d of %(n)d days without a positive case") % {"days": days, "n": n},
            url,
            days_left=max(0, n - days),
        )
    return found


def disinfection(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    rows = (
        Round.objects.filter(compound_id__in=_ids(compounds), date=ctx.today)
        .values("compound_id")
        .order_by()
        .annotate(
            total=Count("id"),
            started=Count("id", filter=Q(due_at__lte=ctx.now)),
            finished=Count("id", filter=Q(done_at__isnull=False)),
            open_started=Count("id", filter=Q(due_at__lte=ctx.now, done_at__isnull=True)),
        )
    )
    by_id = {r["compound_id"]: r for r in rows}
    found = {}
    roster = _url("sanitation:compound")
    for c in compounds:
        r = by_id.get(c.pk)
        url = roster(c.pk)
        if r is None:
            # Rosters are made for sealed and controlled compounds only.
            if c.status in LOCKED_DOWN:
                found[c.pk] = Figure(False, _("no disinfection round today"), url)
            else:
                found[c.pk] = Figure(True, _("no roster at this status"), url)
            continue
        found[c.pk] = Figure(
            r["open_started"] == 0,
            _("%(done)d of %(total)d rounds done today")
            % {"done": r["finished"], "total": r["total"]},
            url,
        )
    return found


def waste(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    since = ctx.today - datetime.timedelta(days=WASTE_DAYS_BACK)
    rows = (
        WasteRecord.objects.filter(
            compound_id__in=_ids(compounds), date__gte=since, date__lt=ctx.today, cleared=False
        )
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    left = {r["compound_id"]: r["n"] for r in rows}
    url = reverse("sanitation:waste")
    found = {}
    for c in compounds:
        n = left.get(c.pk, 0)
        text = (
            _("%(n)d bins of earlier days not cleared") % {"n": n} if n else _("every bin cleared")
        )
        found[c.pk] = Figure(n == 0, text, url)
    return found


def medical(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    ids = _ids(compounds)
    medics = dict(
        MedicalStaff.objects.filter(compound_id__in=ids, active=True)
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
    )
    cars = dict(
        Ambulance.objects.filter(compound_id__in=ids)
        .exclude(status=AmbulanceStatus.OUT_OF_SERVICE)
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
    )
    found = {}
    detail = _url("compounds:detail")
    for c in compounds:
        # Cover is asked of sealed and controlled compounds (medical's own rule).
        url = detail(c.pk)
        m, a = medics.get(c.pk, 0), cars.get(c.pk, 0)
        if c.status not in COVERED_STATUSES:
            found[c.pk] = Figure(True, _("not required at this status"), url)
            continue
        found[c.pk] = Figure(
            m >= 1 and a >= MIN_AMBULANCES,
            _("%(medics)d medical workers, %(cars)d ambulances") % {"medics": m, "cars": a},
            url,
        )
    return found


def supplies(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    before = ctx.now - datetime.timedelta(hours=ORDER_WAIT_HOURS)
    waiting = dict(
        Order.objects.filter(
            compound_id__in=_ids(compounds), status__in=OPEN_STATUSES, submitted_at__lt=before
        )
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
    )
    url = reverse("supplies:orders")
    found = {}
    for c in compounds:
        n = waiting.get(c.pk, 0)
        text = (
            _("%(n)d orders waiting over %(hours)d hours") % {"n": n, "hours": ORDER_WAIT_HOURS}
            if n
            else _("no order waiting over %(hours)d hours") % {"hours": ORDER_WAIT_HOURS}
        )
        found[c.pk] = Figure(n == 0, text, url)
    return found


MEASURES: dict[str, Measure] = {
    ItemKind.NO_CASE: no_case,
    ItemKind.DISINFECTION: disinfection,
    ItemKind.WASTE: waste,
    ItemKind.MEDICAL: medical,
    ItemKind.SUPPLIES: supplies,
}


def measure(
    kinds: set[str],
    compounds: Sequence[Compound],
    *,
    no_case_days: dict[int, int],
    now: datetime.datetime | None = None,
) -> dict[str, dict[int, Figure]]:
    """{kind: {compound id: figure}} for the measured kinds asked for."""
    now = now or timezone.now()
    ctx = Context(today=timezone.localdate(now), now=now, no_case_days=no_case_days)
    return {kind: MEASURES[kind](compounds, ctx) for kind in kinds if kind in MEASURES}
