"""What medical plugs into the compound page's warnings (compounds.registry)."""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compounds.registry import CompoundWarning
from wuyi.lib import localday

from . import rules, selectors
from .models import Ambulance, AmbulanceStatus, Escort, EscortStatus, MedicalStaff


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


def escort_contacts(resident_ids: Sequence[int], day: datetime.date) -> dict[int, list[Any]]:
    """The ledger's served today (residents.registry.register_contacts): residents whose
    escort set off on `day`. One query."""
    from residents.registry import Contact

    start, end = localday.bounds(day)
    found: dict[int, list[Any]] = defaultdict(list)
    rows = (
        Escort.objects.filter(
            resident_id__in=list(resident_ids), dispatched_at__gte=start, dispatched_at__lt=end
        )
        .exclude(status=EscortStatus.CANCELLED)
        .values_list("resident_id", "dispatched_at")
    )
    for resident_id, at in rows:
        found[resident_id].append(Contact(kind="escort", label=gettext_lazy("Escort"), at=at))
    return found
