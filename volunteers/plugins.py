"""What volunteers plugs into lower apps' registries (registered in VolunteersConfig.ready):
the dashboards' duty figures (compounds.figures)."""

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure

from . import rules
from .models import Assignment


def figures(places: Any) -> Contribution:
    """Volunteers on a shift running now, and those of them checked in: one query."""
    section = _("Volunteers")
    counts = (
        Assignment.objects.filter(
            shift__compound__in=places.compound_ids(),
            shift__starts_at__lte=places.now,
            shift__ends_at__gt=places.now,
        )
        .order_by()
        .aggregate(
            on_duty=Count("volunteer", distinct=True),
            checked_in=Count(
                "volunteer",
                distinct=True,
                filter=Q(checked_in_at__isnull=False, checked_out_at__isnull=True),
            ),
        )
    )
    may = places.user is not None and rules.may_read_duty(places.user)
    url = reverse("volunteers:duty") if may else ""
    return Contribution(
        figures=[
            Figure(
                "volunteers.on_duty",
                section,
                _("Volunteers on duty now"),
                counts["on_duty"],
                note=_("Assigned to a shift running now"),
                url=url,
                order=80,
            ),
            Figure(
                "volunteers.checked_in",
                section,
                _("Volunteers checked in now"),
                counts["checked_in"],
                url=url,
                order=81,
            ),
        ]
    )
