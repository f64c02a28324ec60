"""What sanitation plugs into the compound page's warnings (compounds.registry)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.registry import CompoundWarning

from . import rules
from .models import Area


def compound_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A compound whose status gets a daily roster but has no active area gets no round at all,
    and nothing else says so."""
    if compound.status not in rules.roster_statuses():
        return []
    if Area.objects.filter(compound=compound, active=True).exists():
        return []
    return [
        CompoundWarning(
            _(
                "No disinfection areas: %(status)s compounds get daily rounds, but this one has "
                "no area, so no round is made and no cleaner is reminded."
            )
            % {"status": compound.get_status_display()},
            url=reverse("sanitation:areas", args=[compound.pk]),
            danger=True,
        )
    ]


# ----------------------------------------------------------------------------- figures

# Below this share of the day's rounds done by 18:00, a compound is named in the alerts.
LOW_COMPLETION = 0.8
EVENING = 18


def figures(places: Any) -> Any:
    """The dashboards' disinfection figures (compounds.figures): today's rounds done of those
    due, and from 18:00 the compounds below 80 %. One or two queries."""
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from compounds.figures import Alert, Contribution, Figure

    from .models import Round

    section = _("Disinfection")
    may = places.user is not None and rules.may_read_rates(places.user)
    url = reverse("sanitation:overview") if may else ""
    rounds = Round.objects.filter(compound__in=places.compound_ids(), date=places.day)
    counts = rounds.order_by().aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(done_at__isnull=False))
    )
    share = round(100 * counts["done"] / counts["total"]) if counts["total"] else None
    found = Contribution(
        figures=[
            Figure(
                "sanitation.rounds",
                section,
                _("Disinfection rounds today"),
                counts["total"],
                url=url,
                order=60,
            ),
            Figure("sanitation.done", section, _("Rounds done today"), counts["done"], order=61),
            Figure(
                "sanitation.completion",
                section,
                _("Today's disinfection completion"),
                share,
                unit="%",
                note=_("Rounds done of those due today"),
                url=url,
                order=62,
            ),
        ]
    )
    local = timezone.localtime(places.now)
    if places.brief or local.date() != places.day or local.hour < EVENING:
        return found
    low = list(
        rounds.order_by()
        .values("compound_id", "compound__name")
        .annotate(total=Count("pk"), finished=Count("pk", filter=Q(done_at__isnull=False)))
        .filter(finished__lt=F("total") * LOW_COMPLETION)
        .order_by("compound__name")
        .values_list("compound_id", "compound__name")
    )
    if low:
        found.alerts.append(
            Alert(
                "sanitation-low",
                _("%(n)d compounds have done less than 80 %% of today's disinfection rounds:")
                % {"n": len(low)},
                len(low),
                url=url,
                items=tuple(
                    (name, reverse("sanitation:compound", args=[pk]) if may else "")
                    for pk, name in low[:10]
                ),
            )
        )
    return found
