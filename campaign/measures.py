"""The items the app measures, for many compounds at once: each kind is one query (or none)
whatever the number of compounds, so the district's progress page and the badges on the
compound list cost the same for 30 compounds and for 3,000.

A measure reads the lower apps' tables (sanitation, medical, supplies) and the compound's own
lockdown clock; none of them knows the campaign exists.
"""

import datetime
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import LOCKED_DOWN, Compound
from medical.models import Ambulance, AmbulanceStatus, MedicalStaff
from medical.selectors import COVERED_STATUSES, MIN_AMBULANCES
from residents.models import Resident, VulnerableTag
from residents.registry import reached_ids
from sanitation.models import Round, WasteRecord
from screening.models import Exemption, RoundStatus, Sample, TestingRound
from screening.selectors import Coverage
from supplies.models import OPEN_STATUSES, Order

from .models import COVERAGE_DEFAULT, NO_CASE_DAYS_DEFAULT, ROUNDS_DEFAULT, Checklist, ItemKind
from .rules import ORDER_WAIT_HOURS, WASTE_DAYS_BACK

# In a figure's url, where the compound's id goes (ItemResult.url fills it): a figure is then
# the same object for every compound it describes alike, not 3,000 copies of it.
COMPOUND = "{compound}"


@dataclass(frozen=True, slots=True)
class Figure:
    met: bool
    text: str  # what was measured, in a few words
    url: str = ""  # the list behind it (with COMPOUND for the compound's id)
    days_left: int | None = None  # for "no case for N days": days until it is met


class Figures:
    """Figures of one measure, each distinct one made once."""

    def __init__(self) -> None:
        self.seen: dict[tuple[bool, str, str, int | None], Figure] = {}

    def __call__(self, met: bool, text: str, url: str = "", days_left: int | None = None) -> Figure:
        key = (met, text, url, days_left)
        found = self.seen.get(key)
        if found is None:
            found = self.seen[key] = Figure(met, text, url, days_left)
        return found


@dataclass(frozen=True)
class Context:
    today: datetime.date
    now: datetime.datetime
    checklists: dict[int, Checklist]  # district id → its checklist (its settings)
    # The compounds' ids as the queries filter them: a list, or a subquery of the pks when the
    # caller has one (3,000 ids as parameters cost more to send than the query to run).
    ids: Any = None
    districts: set[int] = field(default_factory=set)

    def setting(self, district_id: int, name: str) -> int:
        checklist = self.checklists.get(district_id)
        if checklist is not None:
            return int(getattr(checklist, name))
        return {"no_case_days": NO_CASE_DAYS_DEFAULT, "rounds": ROUNDS_DEFAULT}.get(
            name, COVERAGE_DEFAULT
        )


Measure = Callable[[Sequence[Compound], Context], dict[int, Figure]]


def _ids(compounds: Sequence[Compound], ctx: Context | None = None) -> Any:
    if ctx is not None and ctx.ids is not None:
        return ctx.ids
    return [c.id for c in compounds]


_SLOT = 987654321


def _url(name: str, *more: int) -> Callable[..., str]:
    """The URL of `name` for any pk(s), reversed once (not once per compound of 3,000)."""
    slots = [_SLOT + i for i in range(1 + len(more))]
    template = reverse(name, args=slots)

    def url(*pks: int | str) -> str:
        found = template
        for slot, pk in zip(slots, pks, strict=True):
            found = found.replace(str(slot), str(pk))
        return found

    return url


def _link(name: str) -> str:
    """The URL of `name` for a compound, with COMPOUND where its id goes."""
    return reverse(name, args=[_SLOT]).replace(str(_SLOT), COMPOUND)


def no_case(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    fig = Figures()
    found = {}
    url = _link("compounds:detail")
    never = _("no positive case recorded")
    text = _("%(days)d of %(n)d days without a positive case")
    for c in compounds:
        n = ctx.setting(c.district_id, "no_case_days")
        if c.last_positive_on is None:
            found[c.id] = fig(True, never, url)
            continue
        days = (ctx.today - c.last_positive_on).days
        found[c.id] = fig(
            days >= n,
            text % {"days": days, "n": n},
            url,
            days_left=max(0, n - days),
        )
    return found


def disinfection(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    fig = Figures()
    rows = (
        Round.objects.filter(compound_id__in=_ids(compounds, ctx), date=ctx.today)
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
    url = _link("sanitation:compound")
    none_today, no_roster = _("no disinfection round today"), _("no roster at this status")
    text = _("%(done)d of %(total)d rounds done today")
    for c in compounds:
        r = by_id.get(c.id)
        if r is None:
            # Rosters are made for sealed and controlled compounds only.
            if c.status in LOCKED_DOWN:
                found[c.id] = fig(False, none_today, url)
            else:
                found[c.id] = fig(True, no_roster, url)
            continue
        found[c.id] = fig(
            r["open_started"] == 0,
            text % {"done": r["finished"], "total": r["total"]},
            url,
        )
    return found


def waste(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    fig = Figures()
    since = ctx.today - datetime.timedelta(days=WASTE_DAYS_BACK)
    rows = (
        WasteRecord.objects.filter(
            compound_id__in=_ids(compounds, ctx), date__gte=since, date__lt=ctx.today, cleared=False
        )
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    left = {r["compound_id"]: r["n"] for r in rows}
    url = reverse("sanitation:waste")
    found = {}
    left_text, cleared = _("%(n)d bins of earlier days not cleared"), _("every bin cleared")
    for c in compounds:
        n = left.get(c.id, 0)
        found[c.id] = fig(n == 0, left_text % {"n": n} if n else cleared, url)
    return found


def medical(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    fig = Figures()
    ids = _ids(compounds, ctx)
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
    url = _link("compounds:detail")
    not_required = _("not required at this status")
    text = _("%(medics)d medical workers, %(cars)d ambulances")
    for c in compounds:
        # Cover is asked of sealed and controlled compounds (medical's own rule).
        m, a = medics.get(c.id, 0), cars.get(c.id, 0)
        if c.status not in COVERED_STATUSES:
            found[c.id] = fig(True, not_required, url)
            continue
        found[c.id] = fig(
            m >= 1 and a >= MIN_AMBULANCES,
            text % {"medics": m, "cars": a},
            url,
        )
    return found


def supplies(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    fig = Figures()
    before = ctx.now - datetime.timedelta(hours=ORDER_WAIT_HOURS)
    waiting = dict(
        Order.objects.filter(
            compound_id__in=_ids(compounds, ctx), status__in=OPEN_STATUSES, submitted_at__lt=before
        )
        .values("compound_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
    )
    url = reverse("supplies:orders")
    found = {}
    many = _("%(n)d orders waiting over %(hours)d hours")
    none = _("no order waiting over %(hours)d hours") % {"hours": ORDER_WAIT_HOURS}
    for c in compounds:
        n = waiting.get(c.id, 0)
        text = many % {"n": n, "hours": ORDER_WAIT_HOURS} if n else none
        found[c.id] = fig(n == 0, text, url)
    return found


def _rounds_of(compounds: Sequence[Compound], ctx: Context) -> dict[int, list[TestingRound]]:
    """{compound id: its last K finished testing rounds, newest first}: the rounds of its
    district that covered its sub-district (a round naming none covers the whole district).
    Two queries (the rounds, their sub-districts)."""
    today = ctx.today
    finished = (
        TestingRound.objects.filter(district_id__in=ctx.districts, starts_on__lte=today)
        .filter(Q(status=RoundStatus.CLOSED) | Q(ends_on__lt=today))
        .prefetch_related("subdistricts")
        .order_by("-number")
    )
    by_district: dict[int, list[tuple[TestingRound, set[int]]]] = {}
    for r in finished:
        by_district.setdefault(r.district_id, []).append((r, {s.pk for s in r.subdistricts.all()}))
    found: dict[int, list[TestingRound]] = {}
    for c in compounds:
        k = ctx.setting(c.district_id, "rounds")
        found[c.id] = [
            r
            for r, subs in by_district.get(c.district_id, [])
            if not subs or c.subdistrict_id in subs
        ][:k]
    return found


def _coverage(
    compounds: Sequence[Compound], ctx: Context, round_ids: set[int]
) -> tuple[dict[int, int], dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """(residents per compound, samples per (round, compound), exempt and not sampled per
    (round, compound)): screening's own coverage, counted as its round page counts it. Three
    queries."""
    ids = _ids(compounds, ctx)
    expected = dict(
        Resident.objects.current()
        .filter(compound_id__in=ids)
        .values("compound_id")
        .order_by()
        .annotate(n=Count("pk"))
        .values_list("compound_id", "n")
    )
    sampled = {
        (r, c): n
        for r, c, n in Sample.objects.filter(
            round_id__in=round_ids, retest=False, compound_id__in=ids
        )
        .values("round_id", "compound_id")
        .order_by()
        .annotate(n=Count("pk"))
        .values_list("round_id", "compound_id", "n")
    }
    was_sampled = Sample.objects.filter(
        round_id=OuterRef("round_id"), retest=False, resident_id=OuterRef("resident_id")
    )
    exempt = {
        (r, c): n
        for r, c, n in Exemption.objects.filter(round_id__in=round_ids, compound_id__in=ids)
        .exclude(Exists(was_sampled))
        .values("round_id", "compound_id")
        .order_by()
        .annotate(n=Count("pk"))
        .values_list("round_id", "compound_id", "n")
    }
    return expected, sampled, exempt


def rounds(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    """The last K testing rounds each covered at or above the district's threshold. Five
    queries, whatever the number of compounds or rounds."""
    fig = Figures()
    last = _rounds_of(compounds, ctx)
    round_ids = {r.pk for found in last.values() for r in found}
    expected, sampled, exempt = _coverage(compounds, ctx, round_ids) if round_ids else ({}, {}, {})
    round_page = _url("screening:compound", 0)
    index = reverse("screening:index")
    few = _("%(held)d of the last %(k)d rounds held")
    each = _("last %(k)d rounds: %(percents)s (at least %(threshold)d%%)")
    found = {}
    for c in compounds:
        k = ctx.setting(c.district_id, "rounds")
        threshold = ctx.setting(c.district_id, "coverage")
        held = last[c.id]
        if len(held) < k:
            found[c.id] = fig(False, few % {"held": len(held), "k": k}, index)
            continue
        cover = [
            Coverage(
                pk=r.pk,
                expected=expected.get(c.id, 0),
                sampled=sampled.get((r.pk, c.id), 0),
                exempt=exempt.get((r.pk, c.id), 0),
            )
            for r in held
        ]
        worst = min(cover, key=lambda x: x.percent)
        found[c.id] = fig(
            worst.percent >= threshold,
            each
            % {
                "k": k,
                "percents": "、".join(f"{x.percent}%" for x in cover),
                "threshold": threshold,
            },
            round_page(worst.pk, COMPOUND),
        )
    return found


def vulnerable(compounds: Sequence[Compound], ctx: Context) -> dict[int, Figure]:
    """Every resident of the vulnerable-person ledger reached today by someone (a welfare call,
    a delivery, an escort: the ledger's "served today", which every app feeds), while the
    compound is sealed or controlled (as its disinfection rounds and medical cover are: out of
    lockdown people reach their own help). One query: the ledger counted per compound, and
    among it those in any app's reached residents (residents.registry.reached_ids, subqueries
    of the ledger itself: no resident id travels to Python and back)."""
    fig = Figures()
    ledger = VulnerableTag.objects.filter(
        resident__compound_id__in=_ids(compounds, ctx),
        resident__compound__status__in=LOCKED_DOWN,
        resident__left_on__isnull=True,
    )
    reached = [
        Q(resident_id__in=ids) for ids in reached_ids(ledger.values("resident_id"), ctx.today)
    ]
    # No app registered (an installation without care, supplies or medical): nobody reached.
    anyone: Any = Value(0, output_field=IntegerField())
    if reached:
        anyone = Count("resident_id", distinct=True, filter=reduce(operator.or_, reached))
    per_compound = {
        compound_id: (total, n)
        for compound_id, total, n in ledger.values("resident__compound_id")
        .order_by()
        .annotate(
            total=Count("resident_id", distinct=True),
            reached=anyone,
        )
        .values_list("resident__compound_id", "total", "reached")
    }
    url = _link("care:served")
    text = _("%(reached)d of %(total)d ledger residents contacted today")
    nobody = _("nobody on the vulnerable-person ledger")
    not_required = _("not required at this status")
    found = {}
    for c in compounds:
        if c.status not in LOCKED_DOWN:
            found[c.id] = fig(True, not_required, url)
            continue
        total, n = per_compound.get(c.id, (0, 0))
        if not total:
            found[c.id] = fig(True, nobody, url)
            continue
        found[c.id] = fig(n == total, text % {"reached": n, "total": total}, url)
    return found


MEASURES: dict[str, Measure] = {
    ItemKind.NO_CASE: no_case,
    ItemKind.ROUNDS: rounds,
    ItemKind.DISINFECTION: disinfection,
    ItemKind.WASTE: waste,
    ItemKind.MEDICAL: medical,
    ItemKind.SUPPLIES: supplies,
    ItemKind.VULNERABLE: vulnerable,
}


def measure(
    kinds: set[str],
    compounds: Sequence[Compound],
    *,
    checklists: dict[int, Checklist],
    now: datetime.datetime | None = None,
    scope: Any = None,
) -> dict[str, dict[int, Figure]]:
    """{kind: {compound id: figure}} for the measured kinds asked for. `scope`: a queryset of
    exactly these compounds, when the caller has one (the queries then filter by it)."""
    now = now or timezone.now()
    ctx = Context(
        today=timezone.localdate(now),
        now=now,
        checklists=checklists,
        ids=scope.values("pk") if scope is not None else None,
        districts={c.district_id for c in compounds},
    )
    return {kind: MEASURES[kind](compounds, ctx) for kind in kinds if kind in MEASURES}
