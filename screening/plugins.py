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
    from .figures import figures

    register_figures(figures)
