"""What residents plugs into lower apps' registries (registered in ResidentsConfig.ready): the
dashboards' register figures (compounds.figures)."""

from typing import Any

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure

from . import rules
from .models import Resident, VulnerableTag


def figures(places: Any) -> Contribution:
    """Vulnerable residents on the register, and those in quarantine today: two counts. (How
    many were contacted today is the care app's figure.)"""
    section = _("Residents")
    current = Resident.objects.current().filter(compound__in=places.compound_ids())
    vulnerable = current.filter(Exists(VulnerableTag.objects.filter(resident=OuterRef("pk"))))
    may = places.user is not None and rules.may_read_ledger(places.user)
    return Contribution(
        figures=[
            Figure(
                "residents.vulnerable",
                section,
                _("Vulnerable residents"),
                vulnerable.count(),
                note=_("Residents on the vulnerable-person ledger"),
                url=reverse("residents:ledger") if may else "",
                order=70,
            ),
            Figure(
                "residents.quarantine",
                section,
                _("Residents in quarantine"),
                current.in_quarantine(places.day).count(),
                order=71,
            ),
        ]
    )
