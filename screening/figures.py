"""Screening's figures on the dashboards (compounds.figures), registered from plugins.py.

People sampled are counted from the tubes (each keeps how many people it holds): a city's day
of sampling is a million samples but fifty thousand tubes, found through their rounds."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import (
    Alert,
    Chart,
    Contribution,
    Figure,
    Number,
    Split,
    cached_per_compound,
    tally,
)
from residents.models import Resident
from wuyi.lib.localday import bounds

from . import rules
from .models import (
    Exemption,
    HealthReport,
    Quarantine,
    Retest,
    RetestStatus,
    RoundStatus,
    Sample,
    TestingRound,
    Tube,
)

# How many testing rounds the coverage chart shows.
ROUNDS_CHARTED = 6
# How often the residents per compound (the people due in a round) are counted again.
REFRESH = 900


@dataclass
class Rounds:
    """The rounds begun by the day in the districts the places lie in: each district's latest
    (`last`, with the sub-districts it was limited to), those running, those charted."""

    number: dict[int, int] = field(default_factory=dict)  # round id -> its number
    last: list[int] = field(default_factory=list)
    chosen: dict[int, set[int]] = field(default_factory=dict)  # district -> sub-districts
    running: list[int] = field(default_factory=list)
    charted: list[int] = field(default_factory=list)  # round numbers, oldest first


def _rounds(places: Any) -> Rounds:
    """Two small queries: the rounds, then the sub-districts the latest ones were limited to."""
    rows = list(
        TestingRound.objects.filter(
            district_id__in=places.compounds.order_by().values("district_id"),
            starts_on__lte=places.day,
        )
        .order_by("-number")
        .values_list("pk", "number", "district_id", "ends_on", "status")
    )
    found = Rounds(number={pk: n for pk, n, _d, _e, _s in rows})
    latest: dict[int, int] = {}
    for pk, _n, district_id, ends_on, status in rows:
        latest.setdefault(district_id, pk)
        if ends_on >= places.day or status == RoundStatus.OPEN:
            found.running.append(pk)
    found.last = list(latest.values())
    found.chosen = {d: set() for d in latest}
    district_of = {pk: d for d, pk in latest.items()}
    limited = TestingRound.subdistricts.through.objects.filter(testinground_id__in=found.last)
    for round_id, subdistrict_id in limited.values_list("testinground_id", "subdistrict_id"):
        found.chosen[district_of[round_id]].add(subdistrict_id)
    found.charted = sorted(set(found.number.values()))[-ROUNDS_CHARTED:]
    return found


@dataclass
class Tubes:
    """People in the places' tubes of the rounds asked, by (round id, retest): in all, and in
    the tubes opened on the day."""

    people: dict[tuple[int, bool], tuple[int, int]]

    def sampled_today(self) -> int:
        return sum(today for _all, today in self.people.values())

    def in_rounds(self, ids: list[int]) -> int:
        return sum(n for (pk, retest), (n, _t) in self.people.items() if pk in ids and not retest)


def _tubes(places: Any, rounds: Rounds) -> Tubes:
    """The overview's one query over the tubes: every figure and the chart read it."""
    start, end = bounds(places.day)
    wanted = {pk for pk, n in rounds.number.items() if n in rounds.charted}
    wanted |= set(rounds.running) | set(rounds.last)
    rows = (
        Tube.objects.filter(round_id__in=sorted(wanted), compound__in=places.compound_ids())
        .order_by()
        .values("round_id", "retest")
        .annotate(
            n=Sum("size"), today=Sum("size", filter=Q(opened_at__gte=start, opened_at__lt=end))
        )
    )
    return Tubes({(r["round_id"], r["retest"]): (r["n"] or 0, r["today"] or 0) for r in rows})


def _sampled_today(places: Any, rounds: Rounds, tubes: Tubes | None) -> tuple[int, Any]:
    """People sampled today: from the overview's tube counts, or (the daily report) the tubes
    of the rounds running, opened that day, by community."""
    if tubes is not None:
        return tubes.sampled_today(), None
    start, end = bounds(places.day)
    counted = tally(
        places,
        Tube.objects.filter(
            round_id__in=rounds.running,
            compound__in=places.compound_ids(),
            opened_at__gte=start,
            opened_at__lt=end,
        ),
        community="compound__community_id",
        n=Sum("size"),
    )
    return counted["n"] or 0, counted.split("n")


def figures(places: Any) -> Contribution:
    """The dashboards' screening figures (compounds.figures): people sampled today, retests
    waiting to be sampled, people in quarantine or health monitoring now, the last round's
    coverage and the overdue health reports. A constant number of queries, whatever the number
    of compounds; grouped by community for the daily report."""
    section = _("Screening")
    compounds = places.compound_ids()
    may = places.user is not None and rules.may_keep(places.user)
    rounds = _rounds(places)
    tubes = None if places.brief else _tubes(places, rounds)
    today, per_today = _sampled_today(places, rounds, tubes)
    by = "compound__community_id"
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
                today,
                note=_("People in the tubes opened today, retests included"),
                url=index_url,
                order=20,
                per=per_today,
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
    found.add(coverage(places, rounds, tubes))
    found.add(overdue_alert(places))
    return found


# ----------------------------------------------------------------------------- coverage


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


def _expected(places: Any, rounds: Rounds) -> Split:
    """The residents due in the latest rounds, per community: those registered now in the
    compounds each round covers (its district, or the sub-districts it was limited to). One
    query, on the residents per compound counted for the whole city every 15 minutes."""
    residents = cached_per_compound(
        "screening.residents", places.day, _residents_per_compound, ttl=REFRESH
    )
    chosen = rounds.chosen
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


def coverage(places: Any, rounds: Rounds, tubes: Tubes | None) -> Contribution:
    """The last testing round's coverage (each district's latest round: sampled of the
    residents due), the people it still misses, and on the overview the coverage of the last
    rounds as a chart. `tubes`: the overview's counts; the daily report counts the latest
    rounds' tubes by community."""
    section = _("Screening")
    if not rounds.last:
        return Contribution()
    expected = _expected(places, rounds)
    ids = rounds.last
    if tubes is not None:
        sampled, per_sampled = tubes.in_rounds(ids), None
    else:
        counted = tally(
            places,
            Tube.objects.filter(round_id__in=ids, retest=False, compound__in=places.compound_ids()),
            community="compound__community_id",
            n=Sum("size"),
        )
        sampled, per_sampled = counted["n"] or 0, counted.split("n")
    was_sampled = Sample.objects.filter(
        round_id=OuterRef("round_id"), resident_id=OuterRef("resident_id"), retest=False
    )
    exempt = tally(
        places,
        Exemption.objects.filter(round_id__in=ids, compound__in=places.compound_ids()).exclude(
            Exists(was_sampled)
        ),
        community="compound__community_id",
        n=Count("pk"),
    )
    total = sum(expected.values())
    url = ""
    if places.user is not None and rules.may_keep(places.user):
        single = reverse("screening:round", args=[ids[0]]) if len(ids) == 1 else ""
        url = single or reverse("screening:index")
    per_percent = per_missing = None
    if per_sampled is not None:
        e = exempt.split("n") or Split()
        per_percent = Split(
            {c: _percent(per_sampled[c] or 0, n, e[c]) for c, n in expected.items()},
            default=None,
        )
        per_missing = Split(
            {c: max(0, n - (per_sampled[c] or 0) - e[c]) for c, n in expected.items()}
        )
    numbers = ", ".join(str(n) for n in sorted({rounds.number[pk] for pk in ids}))
    found = Contribution(
        figures=[
            Figure(
                "screening.coverage",
                section,
                _("Last testing round's coverage"),
                _percent(sampled, total, exempt["n"]),
                unit="%",
                note=_(
                    "Residents sampled in the latest round (round %(numbers)s), of those due: "
                    "the exempt are not due"
                )
                % {"numbers": numbers},
                url=url,
                order=23,
                per=per_percent,
            ),
            Figure(
                "screening.missing",
                section,
                _("Not yet sampled in the last round"),
                max(0, total - sampled - exempt["n"]),
                note=_("Residents due in the latest round, neither sampled nor exempt"),
                url=url,
                order=24,
                per=per_missing,
            ),
        ]
    )
    if tubes is not None:
        found.charts.append(_coverage_chart(rounds, tubes, total))
    return found


def _coverage_chart(rounds: Rounds, tubes: Tubes, expected: int) -> Chart:
    """People sampled in each of the last rounds, as a share of the residents registered now
    (no query: the overview's tube counts)."""

    def share(number: int) -> Number:
        ids = [pk for pk, n in rounds.number.items() if n == number]
        n = tubes.in_rounds(ids)
        return min(100, round(100 * n / expected)) if expected else None

    return Chart(
        "screening.coverage_per_round",
        _("Coverage per testing round (of the residents registered now)"),
        [_("Round %(number)d") % {"number": number} for number in rounds.charted],
        [(_("Coverage"), [share(number) for number in rounds.charted])],
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
