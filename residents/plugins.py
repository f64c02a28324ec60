"""What the register plugs into lower apps' registries: its panel on the compound page
(compounds.registry) and its audiences (messaging.registry). Registered from
ResidentsConfig.ready()."""

from django.urls import reverse

from compounds.registry import CompoundPanel, register_compound_panel
from messaging.registry import register_system_templates

from . import audiences, codes, household, notify, selectors
from .rules import may_edit_register, may_read_ledger, may_read_register


def register() -> None:
    from compounds.figures import register_figures

    from .figures import figures

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
