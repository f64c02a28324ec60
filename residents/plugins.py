"""What the register plugs into lower apps' registries: its panel on the compound page
(compounds.registry) and its audiences (messaging.registry). Registered from
ResidentsConfig.ready()."""

from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure, per_compound, register_figures
from compounds.registry import CompoundPanel, register_compound_panel
from messaging.registry import register_system_templates

from . import audiences, codes, household, notify, rules, selectors
from .models import VulnerableTag
from .rules import may_edit_register, may_read_ledger, may_read_register


def register() -> None:
    register_figures(figures)
    register_compound_panel(compound_panel)
    audiences.register()
    # The household link's texts are the system's own, never offered for a campaign; its code
    # is texted through the one code check (residents.codes).
    register_system_templates(notify.HOUSEHOLD_LINK, notify.HOUSEHOLD_CODE)
    codes.register_sender(household.CODE_PURPOSE, household.household_code_sender)


def compound_panel(user, compound) -> CompoundPanel | None:
    """The register's part of the compound page (registered below): the
    compound in figures, links to its residents and ledger, and each building's page. None
    for a volunteer (their residents are their tasks'); the medic's links go to the ledger."""
    if not may_read_ledger(user):
        return None
    counts = selectors.compound_counts(user=user, compound_id=compound.pk)
    may_register = may_read_register(user)
    building_urls = (
        {
            pk: reverse("residents:building", args=[pk])
            for pk in compound.buildings.values_list("pk", flat=True)
        }
        if may_register
        else {}
    )
    return CompoundPanel(
        template="residents/_compound_panel.html",
        context={
            "counts": counts,
            "compound": compound,
            "may_edit": may_edit_register(user),
            "may_register": may_register,
        },
        building_urls=building_urls,
        order=10,
    )


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
    vulnerable = per_compound("residents.vulnerable", places, _vulnerable_per_compound, ttl=REFRESH)
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
            ),
        ]
    )
