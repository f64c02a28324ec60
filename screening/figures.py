"""Screening's figures on the dashboards (compounds.figures), registered from plugins.py."""

from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure, tally
from wuyi.lib.localday import bounds

from . import rules
from .models import Quarantine, Retest, RetestStatus, Sample


def figures(places: Any) -> Contribution:
    """The dashboards' screening figures (compounds.figures): people sampled today, retests
    waiting to be sampled, people in quarantine or health monitoring now. Three queries,
    whatever the number of compounds (grouped by community for the daily report)."""
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
    return Contribution(
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
