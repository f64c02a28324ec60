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
