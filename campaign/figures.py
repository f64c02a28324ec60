"""The campaign's figures on the dashboards (compounds.figures), registered from plugins.py."""

import datetime
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure, Split, cached_per_compound, tally
from compounds.models import Compound
from wuyi.lib.localday import start_of

from . import rules
from .models import Certificate, CertificateStatus
from .selectors import STAGES, evaluate

# How often every compound's stage is evaluated again for the dashboards (seconds): the
# evaluation measures every checklist item of every compound of the city.
REFRESH = 900


def _stages() -> dict[int, str]:
    return {pk: ev.stage for pk, ev in evaluate(list(Compound.objects.all())).items()}


def _stage_per_compound(day: datetime.date) -> dict[int, str]:
    """Each compound's campaign stage, evaluated for the whole city at most every 15 minutes
    (cached, shared by every page and node; made again by refresh_figures)."""
    return cached_per_compound("campaign.stages", day, _stages, ttl=REFRESH)


def _stage_figures(places: Any, section: str, url: str) -> list[Figure]:
    """Compounds in each stage of the campaign (one query: the compounds' ids)."""
    stages = _stage_per_compound(places.day)
    per: dict[str, Split] = {key: Split() for key, _label in STAGES}
    for pk, community_id in places.compounds.order_by().values_list("pk", "community_id"):
        stage = stages.get(pk)
        if stage in per:
            per[stage][community_id] += 1
    return [
        Figure(
            f"campaign.stage.{key}",
            section,
            _("Campaign stage: %(stage)s") % {"stage": label},
            sum(per[key].values()),
            note=_("Compounds at this stage of the campaign (evaluated every 15 minutes)"),
            url=f"{url}?stage={key}" if url else "",
            order=92 + i,
            per=per[key] if places.by_community else None,
        )
        for i, (key, label) in enumerate(STAGES)
    ]


def figures(places: Any) -> Contribution:
    """The dashboards' campaign figures (compounds.figures): compounds holding a valid
    epidemic-free certificate, certificates revoked in the last 7 days (one query, grouped by
    community for the daily report), and the compounds at each stage of the campaign."""
    section = _("Epidemic-free campaign")
    week = start_of(places.day - datetime.timedelta(days=6))
    counts = tally(
        places,
        Certificate.objects.filter(compound__in=places.compound_ids()),
        community="compound__community_id",
        valid=Count("compound", filter=Q(status=CertificateStatus.VALID), distinct=True),
        revoked=Count("pk", filter=Q(status=CertificateStatus.REVOKED, revoked_at__gte=week)),
    )
    may = places.user is not None and rules.may_read(places.user)
    url = reverse("campaign:progress") if may else ""
    return Contribution(
        figures=[
            Figure(
                "campaign.certified",
                section,
                _("Compounds certified epidemic-free"),
                counts["valid"],
                note=_("Compounds holding a valid certificate"),
                url=url,
                order=90,
                per=counts.split("valid"),
            ),
            Figure(
                "campaign.revoked",
                section,
                _("Certificates revoked in the last 7 days"),
                counts["revoked"],
                note=_("Certificates revoked when a compound's status rose or a case was found"),
                url=url,
                order=91,
                per=counts.split("revoked"),
            ),
            *_stage_figures(places, section, url),
        ]
    )
