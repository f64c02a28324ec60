"""Screening's figures on the dashboards (compounds.figures), registered from plugins.py."""

import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Alert, Chart, Contribution, Figure, Split, cached_per_compound, tally
from residents.models import Resident
from wuyi.lib.localday import bounds

from . import rules
from .models import (
    Exemption,
    HealthReport,
    Quarantine,
    Retest,
    RetestStatus,
    Sample,
    TestingRound,
)


def figures(places: Any) -> Contribution:
    """The dashboards' screening figures (compounds.figures): people sampled today, retests
    waiting to be sampled, people in quarantine or health monitoring now (three queries,
    whatever the number of compounds, grouped by community for the daily report), the last
    round's coverage and the overdue health reports."""
    section = _("Screening")
    compounds = places.compound_ids()
    may = places.user is not None and rules.may_keep(places.user)
    start, end = bounds(places.day)
    by = "compound__community_id"
    sampled = tally(
        places,
        Sample.objects.filter(compound__in=compounds, taken_at__gte=start, taken_at__lt=end),
        community=by,
        n=Count("pk"),
    )
    retests = tally(
        places,
        Retest.objects.filter(compound__in=compounds, status=RetestStatus.PENDING),
        community=by,
        n=Count("pk"),
    )
    kept = tally(
        places,
        Quarantine.objects.filter(
            compound__in=compounds, released_at__isnull=True, starts_on__lte=places.day
        ),
        community=by,
        n=Count("pk"),
    )
    cases_url = reverse("screening:cases") if may else ""
    index_url = reverse("screening:index") if may else ""
    found = Contribution(
        figures=[
            Figure(
                "screening.sampled",
                section,
                _("People sampled today"),
                sampled["n"],
                note=_("Samples taken today, retests included"),
                url=index_url,
                order=20,
                per=sampled.split("n"),
            ),
            Figure(
                "screening.retests",
                section,
                _("Retests waiting to be sampled"),
                retests["n"],
                note=_("Members of a positive pool, each to be tested alone"),
                url=index_url,
                order=21,
                per=retests.split("n"),
            ),
            Figure(
                "screening.quarantine",
                section,
                _("People in quarantine or health monitoring"),
                kept["n"],
                note=_("Close contacts and others kept in quarantine, not yet released"),
                url=cases_url,
                order=22,
                per=kept.split("n"),
            ),
        ]
    )
    found.add(coverage(places))
    found.add(overdue_alert(places))
    return found


# ----------------------------------------------------------------------------- coverage

# How many testing rounds the coverage chart shows.
ROUNDS_CHARTED = 6
# How often the residents per compound (the people due in a round) are counted again.
REFRESH = 900


def _residents_per_compound() -> dict[int, int]:
    """Residents on the register now, per compound (those due in a round)."""
    rows = (
        Resident.objects.current()
        .order_by()
        .values("compound_id")
        .annotate(n=Count("pk"))
        .values_list("compound_id", "n")
    )
    return dict(rows)


def _last_rounds(places: Any) -> list[TestingRound]:
    """The latest round begun by the day, of each district the places lie in, with the
    sub-districts it was limited to: two queries."""
    latest = (
        TestingRound.objects.filter(district=OuterRef("district"), starts_on__lte=places.day)
        .order_by("-number")
        .values("pk")[:1]
    )
    return list(
        TestingRound.objects.filter(
            district_id__in=places.compounds.order_by().values("district_id"),
            pk=Subquery(latest),
        ).prefetch_related("subdistricts")
    )


def _expected(places: Any, rounds: list[TestingRound]) -> Split:
    """The residents due in the rounds, per community: those registered now in the compounds
    each round covers (its district, or the sub-districts it was limited to). One query, on
    the residents per compound counted for the whole city every 15 minutes."""
    chosen = {r.district_id: {s.pk for s in r.subdistricts.all()} for r in rounds}
    residents = cached_per_compound(
        "screening.residents", places.day, _residents_per_compound, ttl=REFRESH
    )
    expected: Split = Split()
    for pk, community_id, district_id, subdistrict_id in places.compounds.order_by().values_list(
        "pk", "community_id", "district_id", "subdistrict_id"
    ):
        if district_id in chosen and (
            not chosen[district_id] or subdistrict_id in chosen[district_id]
        ):
            expected[community_id] += residents.get(pk, 0)
    return expected


def _percent(sampled: int, expected: int, exempt: int) -> int | None:
    """Sampled of those due (the exempt are not due), as screening.selectors.Coverage."""
    if not expected:
        return None
    due = expected - exempt
    return 100 if due <= 0 else round(100 * min(sampled, due) / due)


def coverage(places: Any) -> Contribution:
    """The last testing round's coverage (each district's latest round: sampled of the
    residents due), the people it still misses, and from the overview the coverage of the last
    rounds as a chart. A few queries whatever the number of compounds; the residents per
    compound are counted for the whole city every 15 minutes."""
    section = _("Screening")
    rounds = _last_rounds(places)
    if not rounds:
        return Contribution()
    expected = _expected(places, rounds)
    ids = [r.pk for r in rounds]
    samples = Sample.objects.filter(round_id__in=ids, retest=False)
    sampled = tally(
        places,
        samples.filter(compound__in=places.compound_ids()),
        community="compound__community_id",
        n=Count("pk"),
    )
    was_sampled = samples.filter(resident_id=OuterRef("resident_id"), round_id=OuterRef("round_id"))
    exempt = tally(
        places,
        Exemption.objects.filter(round_id__in=ids, compound__in=places.compound_ids()).exclude(
            Exists(was_sampled)
        ),
        community="compound__community_id",
        n=Count("pk"),
    )
    total = sum(expected.values())
    may = places.user is not None and rules.may_keep(places.user)
    url = ""
    if may:
        url = (
            reverse("screening:round", args=[rounds[0].pk])
            if len(rounds) == 1
            else reverse("screening:index")
        )
    per_percent = per_missing = None
    if places.by_community:
        s, e = sampled.split("n") or Split(), exempt.split("n") or Split()
        per_percent = Split({c: _percent(s[c], n, e[c]) for c, n in expected.items()}, default=None)
        per_missing = Split({c: max(0, n - s[c] - e[c]) for c, n in expected.items()})
    found = Contribution(
        figures=[
            Figure(
                "screening.coverage",
                section,
                _("Last testing round's coverage"),
                _percent(sampled["n"], total, exempt["n"]),
                unit="%",
                note=_(
                    "Residents sampled in the latest round (round %(numbers)s), of those due: "
                    "the exempt are not due"
                )
                % {"numbers": ", ".join(sorted({str(r.number) for r in rounds}))},
                url=url,
                order=23,
                per=per_percent,
            ),
            Figure(
                "screening.missing",
                section,
                _("Not yet sampled in the last round"),
                max(0, total - sampled["n"] - exempt["n"]),
                note=_("Residents due in the latest round, neither sampled nor exempt"),
                url=url,
                order=24,
                per=per_missing,
            ),
        ]
    )
    if not places.brief:
        found.charts.append(_coverage_chart(places, total))
    return found


def _coverage_chart(places: Any, expected: int) -> Chart:
    """People sampled in each of the last rounds, as a share of the residents registered now:
    one query."""
    rows = list(
        Sample.objects.filter(
            compound__in=places.compound_ids(), retest=False, round__starts_on__lte=places.day
        )
        .order_by()
        .values("round__number")
        .annotate(n=Count("pk"))
        .order_by("-round__number")
        .values_list("round__number", "n")[:ROUNDS_CHARTED]
    )
    rows.reverse()
    return Chart(
        "screening.coverage_per_round",
        _("Coverage per testing round (of the residents registered now)"),
        [_("Round %(number)d") % {"number": number} for number, _n in rows],
        [
            (
                _("Coverage"),
                [min(100, round(100 * n / expected)) if expected else None for _x, n in rows],
            )
        ],
        kind="bar",
        unit="%",
        order=30,
    )


def overdue_alert(places: Any) -> Contribution:
    """People in quarantine whose health report for yesterday is missing (as
    screening.selectors.overdue): one query, on the overview only."""
    if places.brief:
        return Contribution()
    yesterday = places.day - datetime.timedelta(days=1)
    reported = HealthReport.objects.filter(quarantine_id=OuterRef("pk"), day=yesterday)
    n = (
        Quarantine.objects.filter(compound__in=places.compound_ids())
        .active(places.day)
        .filter(starts_on__lte=yesterday)
        .exclude(Exists(reported))
        .count()
    )
    if not n:
        return Contribution()
    may = places.user is not None and rules.may_keep(places.user)
    return Contribution(
        alerts=[
            Alert(
                "screening-overdue",
                _("%(n)d people in quarantine have not sent yesterday's health report.") % {"n": n},
                n,
                url=reverse("screening:cases") + "#overdue-title" if may else "",
                danger=True,
            )
        ]
    )
