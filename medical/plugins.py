"""What medical plugs into the compound page's warnings (compounds.registry)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.registry import CompoundWarning

from . import rules, selectors
from .models import Ambulance, AmbulanceStatus, MedicalStaff


def compound_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A controlled or sealed compound needs an on-site medical worker and two dedicated
    ambulances (counted as on the medical panel: active workers, serviceable ambulances whose
    home is the compound)."""
    if compound.status not in selectors.COVERED_STATUSES:
        return []
    url = reverse("medical:coverage") if rules.may_read(user) else ""
    found = []
    if not MedicalStaff.objects.filter(compound=compound, active=True).exists():
        found.append(
            CompoundWarning(
                _("No on-site medical worker: nobody is on call for emergencies here."),
                url=url,
                danger=True,
            )
        )
    cars = (
        Ambulance.objects.filter(compound=compound)
        .exclude(status=AmbulanceStatus.OUT_OF_SERVICE)
        .count()
    )
    if cars < selectors.MIN_AMBULANCES:
        found.append(
            CompoundWarning(
                _("%(cars)d of the %(needed)d dedicated ambulances a %(status)s compound needs.")
                % {
                    "cars": cars,
                    "needed": selectors.MIN_AMBULANCES,
                    "status": compound.get_status_display(),
                },
                url=url,
                danger=cars == 0,
            )
        )
    return found
