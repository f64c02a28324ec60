"""Reading the campaign: each compound's items met or not, its stage and badge, the district's
progress. Every read here takes a constant number of queries, whatever the number of
compounds (bench/campaign.py measures it)."""

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Sum, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compounds.models import Compound, ControlStatus, District, Subdistrict
from messaging.models import Recipient
from wuyi.lib.localday import bounds

from .measures import COMPOUND, Figure, measure
from .models import (
    NO_CASE_DAYS_DEFAULT,
    Assessment,
    Certificate,
    CertificateStatus,
    Check,
    Checklist,
    ChecklistItem,
    ItemKind,
    PublicityKind,
    PublicityRecord,
)


class Stage:
    SEALED = "sealed"
    IMPROVING = "improving"
    ELIGIBLE = "eligible"
    CERTIFIED = "certified"


STAGES = [
    (Stage.SEALED, gettext_lazy("Sealed")),
    (Stage.IMPROVING, gettext_lazy("Improving")),
    (Stage.ELIGIBLE, gettext_lazy("Eligible")),
    (Stage.CERTIFIED, gettext_lazy("Certified")),
]


@dataclass(slots=True)
class ItemResult:
    item: ChecklistItem
    met: bool
    figure: Figure | None = None
    check: Any = None  # the Check (a Seen on the district's progress page)
    compound_id: int = 0

    @property
    def url(self) -> str:
        """The list behind a measured item, for this compound."""
        if self.figure is None or not self.figure.url:
            return ""
        return self.figure.url.replace(COMPOUND, str(self.compound_id))

    @property
    def why(self) -> str:
        if self.figure is not None:
            return self.figure.text
        if self.check is None:
            return _("not checked yet")
        return self.check.note or (_("met") if self.check.met else _("not met"))


# The district's items as evaluate() walks them: (item, its id, its figures by compound id, or
# None for an item checked by hand).
Plan = list[tuple[ChecklistItem, int, dict[int, Figure] | None]]


@dataclass
class Evaluation:
    """A compound against its district's checklist. The item results are built when asked
    for: the district's progress asks the stage of 3,000 compounds and the results of the 200
    it shows."""

    compound: Compound
    certificate: Certificate | None = None  # the valid one
    revoked: Certificate | None = None  # the latest revoked one, when no valid one
    no_checklist: bool = False
    plan: Plan = field(default_factory=list, repr=False)
    checks: dict[tuple[int, int], Any] = field(default_factory=dict, repr=False)
    _items: list[ItemResult] | None = field(default=None, repr=False)
    _failing: list[ChecklistItem] | None = field(default=None, repr=False)

    def _met(self, item_id: int, by_compound: dict[int, Figure] | None) -> bool:
        pk = self.compound.id
        if by_compound is None:
            found = self.checks.get((pk, item_id))
            return found is not None and found.met
        return by_compound[pk].met

    @property
    def items(self) -> list[ItemResult]:
        if self._items is None:
            pk = self.compound.id
            self._items = [
                ItemResult(
                    item,
                    self._met(item_id, by_compound),
                    figure=None if by_compound is None else by_compound[pk],
                    check=self.checks.get((pk, item_id)) if by_compound is None else None,
                    compound_id=pk,
                )
                for item, item_id, by_compound in self.plan
            ]
        return self._items

    def failing_items(self) -> list[ChecklistItem]:
        """The items not met, without building each item's result (worked out once)."""
        if self._failing is None:
            pk, checks = self.compound.id, self.checks
            self._failing = [
                item
                for item, item_id, by in self.plan
                if not (
                    by[pk].met
                    if by is not None
                    else (found := checks.get((pk, item_id))) is not None and found.met
                )
            ]
        return self._failing

    @property
    def failing(self) -> list[ItemResult]:
        return [r for r in self.items if not r.met]

    @property
    def eligible(self) -> bool:
        return not self.no_checklist and bool(self.plan) and not self.failing_items()

    @property
    def days_to_eligible(self) -> int | None:
        """When only the days without a case hold it back: how many days until it is met."""
        failing = self.failing
        if failing and all(r.item.kind == ItemKind.NO_CASE for r in failing):
            return max((r.figure.days_left or 0) for r in failing if r.figure)
        return None

    @property
    def stage(self) -> str:
        if self.certificate is not None:
            return Stage.CERTIFIED
        if self.eligible:
            return Stage.ELIGIBLE
        if self.compound.status == ControlStatus.SEALED:
            return Stage.SEALED
        return Stage.IMPROVING

    @property
    def why_not(self) -> str:
        """The one line that says why the compound is not yet eligible ("" when it is)."""
        if self.no_checklist or not self.items:
            return _("The district has no checklist yet.")
        failing = self.failing
        if not failing:
            return ""
        if self.certificate is not None:
            # Certified stays certified until the status rises (revocation by itself). The
            # person-checked items were closed with the certificate (its figures keep them);
            # a measured one that lapsed since is for the committee to mend, not a "not yet".
            lapsed = [r for r in failing if r.item.kind != ItemKind.MANUAL]
            if not lapsed:
                return ""
            return _("Certified; not met today: %(items)s.") % {"items": _items(lapsed)}
        return _("Not eligible yet: %(items)s.") % {"items": _items(failing)}

    @property
    def badge(self) -> tuple[str, str]:
        """(text, css class) of the compound's badge."""
        if self.certificate is not None:
            return _("Certified epidemic-free"), "ok"
        if self.revoked is not None and not self.eligible:
            return _("Certificate revoked"), "bad"
        if self.eligible:
            return _("Eligible"), "ok"
        days = self.days_to_eligible
        if days is not None:
            return _("Eligible in %(days)d days") % {"days": days}, "warn"
        if self.no_checklist or not self.items:
            return "", ""
        return _("%(n)d items to meet") % {"n": len(self.failing)}, ""


@dataclass(frozen=True)
class Seen:
    """A check as the district's progress reads it: met or not, and its note."""

    met: bool
    note: str


def _open_checks(ids: Any, *, people: bool) -> dict[tuple[int, int], Any]:
    """{(compound id, item id): the latest check} of the compounds' open assessments, newest
    first. One query. `people`: the Check rows with who checked (the assessment page, the API);
    else only met and the note (the district's progress: no 3,000 model rows to build)."""
    qs = Check.objects.filter(
        assessment__compound_id__in=ids, assessment__closed_at__isnull=True
    ).order_by("-checked_at", "-id")
    checks: dict[tuple[int, int], Any] = {}
    if not people:
        seen: dict[tuple[bool, str], Seen] = {}  # one object per distinct finding
        for compound_id, item_id, met, note in qs.values_list(
            "assessment__compound_id", "item_id", "met", "note"
        ):
            if (compound_id, item_id) not in checks:
                found = seen.get((met, note))
                if found is None:
                    found = seen[met, note] = Seen(met, note)
                checks[compound_id, item_id] = found
        return checks
    for check in qs.select_related("checked_by").annotate(compound_id=F("assessment__compound_id")):
        checks.setdefault((check.compound_id, check.item_id), check)
    return checks


def evaluate(
    compounds: Sequence[Compound],
    *,
    now: datetime.datetime | None = None,
    with_checks: bool = True,
    scope: Any = None,
    people: bool = True,
) -> dict[int, Evaluation]:
    """{compound id: evaluation} against each compound's district checklist: its current items,
    the checks of its open assessment, the measured figures and its certificates. A constant
    number of queries, whatever the number of compounds (`scope`: a queryset of exactly these
    compounds, when the caller has one: the queries filter by it rather than by 3,000 ids)."""
    now = now or timezone.now()
    compounds = list(compounds)
    if not compounds:
        return {}
    districts = {c.district_id for c in compounds}
    checklists = {cl.district_id: cl for cl in Checklist.objects.filter(district_id__in=districts)}
    items_by_district: dict[int, list[ChecklistItem]] = {}
    for item in (
        ChecklistItem.objects.current()
        .filter(group__checklist__district_id__in=districts)
        .select_related("group", "group__checklist")
    ):
        items_by_district.setdefault(item.group.checklist.district_id, []).append(item)
    ids: Any = scope.values("pk") if scope is not None else [c.pk for c in compounds]
    kinds = {i.kind for items in items_by_district.values() for i in items}
    checks: dict[tuple[int, int], Any] = {}
    if with_checks and ItemKind.MANUAL in kinds:
        checks = _open_checks(ids, people=people)
    figures = measure(kinds, compounds, checklists=checklists, now=now, scope=scope)
    valid = {
        c.compound_id: c
        for c in Certificate.objects.filter(compound_id__in=ids, status=CertificateStatus.VALID)
    }
    revoked: dict[int, Certificate] = {}
    for cert in Certificate.objects.filter(
        compound_id__in=ids, status=CertificateStatus.REVOKED
    ).order_by("-revoked_at", "-id"):
        revoked.setdefault(cert.compound_id, cert)
    # (item, its id, its figures by compound or None for a manual item), once per district.
    plans = {
        d: [(i, i.id, None if i.kind == ItemKind.MANUAL else figures[i.kind]) for i in items]
        for d, items in items_by_district.items()
    }
    found = {}
    for c in compounds:
        found[c.id] = Evaluation(
            compound=c,
            certificate=valid.get(c.id),
            revoked=None if c.id in valid else revoked.get(c.id),
            no_checklist=c.district_id not in checklists,
            plan=plans.get(c.district_id, []),
            checks=checks,
        )
    return found


def evaluate_one(compound: Compound, *, now: datetime.datetime | None = None) -> Evaluation:
    return evaluate([compound], now=now)[compound.pk]


@dataclass
class Progress:
    stages: list[tuple[str, Any, int]]  # (stage, label, count)
    blocking: list[tuple[ChecklistItem, int]]  # items holding compounds back, most first
    rows: list[Evaluation]  # the compounds shown (filtered by stage or item)
    recently_revoked: list[Certificate]


def progress(
    *,
    user: Any,
    stage: str = "",
    item_id: int | None = None,
    now: datetime.datetime | None = None,
    limit: int = 200,
) -> Progress:
    """The district's compounds by stage, the items blocking them counted across the area, and
    the compounds of one stage or held back by one item (drilling down). Constant queries."""
    visible = Compound.objects.visible_to(user)
    compounds = list(visible.order_by("community__code", "name"))
    evaluations = evaluate(compounds, now=now, scope=visible, people=False)
    counts = Counter(ev.stage for ev in evaluations.values())
    blocking: Counter[int] = Counter()
    items: dict[int, ChecklistItem] = {}
    for ev in evaluations.values():
        if ev.certificate is not None:
            continue
        for failing in ev.failing_items():
            blocking[failing.id] += 1
            items[failing.id] = failing
    rows = [
        ev
        for ev in evaluations.values()
        if (not stage or ev.stage == stage)
        and (item_id is None or any(i.id == item_id for i in ev.failing_items()))
        and not (item_id is not None and ev.certificate is not None)
    ]
    revoked = list(
        Certificate.objects.visible_to(user)
        .filter(status=CertificateStatus.REVOKED)
        .select_related("compound")
        .order_by("-revoked_at")[:20]
    )
    rows = rows[:limit]
    # The community of the compounds shown only (one query), not of 3,000.
    prefetch_related_objects([ev.compound for ev in rows], "community")
    return Progress(
        stages=[(key, label, counts.get(key, 0)) for key, label in STAGES],
        blocking=[(items[pk], n) for pk, n in blocking.most_common()],
        rows=rows,
        recently_revoked=revoked,
    )


def compound_history(compound: Compound) -> tuple[list[Certificate], list[Check]]:
    certificates = list(
        Certificate.objects.filter(compound=compound).select_related("certified_by", "revoked_by")
    )
    checks = list(
        Check.objects.filter(assessment__compound=compound)
        .select_related("item", "checked_by", "assessment")
        .order_by("-checked_at", "-id")[:50]
    )
    return certificates, checks


def open_assessment(compound: Compound) -> Assessment | None:
    return Assessment.objects.filter(compound=compound, closed_at__isnull=True).first()


def checklist_of(district_id: int) -> Checklist | None:
    return Checklist.objects.filter(district_id=district_id).first()


def no_case_days(district_id: int) -> int:
    checklist = checklist_of(district_id)
    return checklist.no_case_days if checklist else NO_CASE_DAYS_DEFAULT


def measure_settings(district_id: int) -> dict[str, int]:
    """The district's settings of the measured items (the defaults before it has a checklist)."""
    checklist = checklist_of(district_id) or Checklist(district_id=district_id)
    return {
        "no_case_days": checklist.no_case_days,
        "rounds": checklist.rounds,
        "coverage": checklist.coverage,
    }


# ----------------------------------------------------------------------------- publicity


@dataclass
class PublicityRow:
    place: Any
    counts: dict[str, int]
    sms: int = 0


def _row(rows: dict[int, PublicityRow], key: int) -> PublicityRow:
    if key not in rows:
        rows[key] = PublicityRow(key, dict.fromkeys(PublicityKind.values, 0))
    return rows[key]


def publicity_totals(
    *, user: Any, start: datetime.date, end: datetime.date
) -> tuple[list[PublicityRow], list[PublicityRow], PublicityRow]:
    """Per sub-district and per district, in the article's categories, with the SMS sent by
    messaging. Four queries."""
    rows = (
        PublicityRecord.objects.visible_to(user)
        .filter(day__gte=start, day__lte=end)
        .values("community__subdistrict_id", "community__subdistrict__district_id", "kind")
        .order_by()
        .annotate(n=Sum("count"))
    )
    per_sub: dict[int, PublicityRow] = {}
    per_district: dict[int, PublicityRow] = {}
    total = PublicityRow(place=None, counts=dict.fromkeys(PublicityKind.values, 0))
    for r in rows:
        sub, dist = r["community__subdistrict_id"], r["community__subdistrict__district_id"]
        for bucket in (_row(per_sub, sub), _row(per_district, dist), total):
            bucket.counts[r["kind"]] += r["n"] or 0
    first, after = bounds(start, end)
    sms_rows = (
        Recipient.objects.visible_to(user)
        .filter(sent_at__gte=first, sent_at__lt=after)
        .values("message__subdistrict_id", "message__district_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    for sms in sms_rows:
        sub, dist = sms["message__subdistrict_id"], sms["message__district_id"]
        if sub is None or dist is None:
            continue
        _row(per_sub, sub).sms += sms["n"]
        _row(per_district, dist).sms += sms["n"]
        total.sms += sms["n"]
    subs = {s.pk: s for s in Subdistrict.objects.filter(pk__in=list(per_sub))}
    dists = {d.pk: d for d in District.objects.filter(pk__in=list(per_district))}
    for row in per_sub.values():
        row.place = subs.get(row.place)
    for row in per_district.values():
        row.place = dists.get(row.place)
    return list(per_sub.values()), list(per_district.values()), total


def _items(results: list[Any]) -> str:
    """Items as the one line names them: the item and why it is not met."""
    return "；".join(f"{r.item.text}（{r.why}）" for r in results)
