"""The register's figures on the dashboards (compounds.figures), registered from plugins.py."""

from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure, per_compound

from . import rules
from .models import VulnerableTag

# How often the city-wide count per compound is made again (seconds).
REFRESH = 900


def _vulnerable_per_compound() -> dict[int, int]:
    """Residents on the register with at least one vulnerable-person tag, per compound."""
    rows = (
        VulnerableTag.objects.filter(resident__left_on__isnull=True)
        .order_by()
        .values("resident__compound_id")
        .annotate(n=Count("resident", distinct=True))
        .values_list("resident__compound_id", "n")
    )
    return dict(rows)


def figures(places: Any) -> Contribution:
    """Vulnerable residents on the register: counted per compound for the whole city at most
    every 15 minutes (a million residents are not counted per page), summed for the places.
    (How many were contacted today is the care app's figure.)"""
    section = _("Residents")
    may = places.user is not None and rules.may_read_ledger(places.user)
    vulnerable, per = per_compound(
        "residents.vulnerable", places, _vulnerable_per_compound, ttl=REFRESH
    )
    return Contribution(
        figures=[
            Figure(
                "residents.vulnerable",
                section,
                _("Vulnerable residents"),
                vulnerable,
                note=_("Residents on the vulnerable-person ledger (counted every 15 minutes)"),
                url=reverse("residents:ledger") if may else "",
                order=70,
                per=per,
            ),
        ]
    )
