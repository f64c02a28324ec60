"""What screening plugs into lower apps' registries: the door-to-door retests on the samplers'
and volunteers' today list."""

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from volunteers.registry import ERRAND, Task, register_task_provider

from .models import Retest, RetestStatus


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """Each pending single-tube retest of the compounds the user serves: a door to visit."""
    if not (user.is_authenticated and user.role in ("volunteer", "medic")):
        return []
    rows = (
        Retest.objects.visible_to(user)
        .filter(status=RetestStatus.PENDING)
        .select_related("resident", "household__building", "round")[:200]
    )
    return [
        Task(
            key=f"retest:{r.pk}",
            kind=_("Retest"),
            title=r.household.address,
            detail=_("Single-tube retest: %(name)s") % {"name": r.resident.name},
            url=reverse("screening:sample", args=[r.round_id, r.compound_id]),
            rank=ERRAND,
        )
        for r in rows
    ]


def register() -> None:
    from compounds.figures import register_figures

    register_task_provider(today_tasks)
    register_figures(figures)


# ----------------------------------------------------------------------------- figures


def figures(places: Any) -> Any:
    """The dashboards' screening figures (compounds.figures): people sampled today, retests
    waiting to be sampled, people in quarantine or health monitoring now. Three queries,
    whatever the number of compounds."""
    from compounds.figures import Contribution, Figure
    from wuyi.lib.localday import bounds

    from . import rules
    from .models import Quarantine, Sample

    section = _("Screening")
    compounds = places.compound_ids()
    may = places.user is not None and rules.may_keep(places.user)
    start, end = bounds(places.day)
    sampled = Sample.objects.filter(
        compound__in=compounds, taken_at__gte=start, taken_at__lt=end
    ).count()
    retests = Retest.objects.filter(compound__in=compounds, status=RetestStatus.PENDING).count()
    kept = Quarantine.objects.filter(
        compound__in=compounds, released_at__isnull=True, starts_on__lte=places.day
    ).count()
    cases_url = reverse("screening:cases") if may else ""
    return Contribution(
        figures=[
            Figure(
                "screening.sampled",
                section,
                _("People sampled today"),
                sampled,
                url=reverse("screening:index") if may else "",
                order=20,
            ),
            Figure(
                "screening.retests",
                section,
                _("Retests waiting to be sampled"),
                retests,
                note=_("Members of a positive pool, each to be tested alone"),
                order=21,
            ),
            Figure(
                "screening.quarantine",
                section,
                _("People in quarantine or health monitoring"),
                kept,
                url=cases_url,
                order=22,
            ),
        ]
    )
