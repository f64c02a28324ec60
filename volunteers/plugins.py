"""What volunteers plug into lower apps' registries: their panel on the compound page
(compounds.registry), their audiences and system texts (messaging.registry). Registered from
VolunteersConfig.ready()."""

from django.utils import timezone

from compounds.registry import CompoundPanel, register_compound_panel
from messaging.registry import register_system_templates

from . import audiences, selectors
from .models import Team
from .notify import LOGIN_LINK


def register() -> None:
    register_compound_panel(compound_panel)
    audiences.register()
    # Its own texts (codes, links, reminders) are never offered for a campaign.
    register_system_templates(LOGIN_LINK)


def compound_panel(user, compound):
    """The volunteers' part of the compound page (registered above): who
    serves it and today's duty, with a link to its shift plan."""
    day = timezone.localdate()
    teams = list(Team.objects.visible_to(user).filter(compounds=compound).order_by("name"))
    duty = next(
        (r for r in selectors.on_duty(user=user, day=day) if r.compound.pk == compound.pk), None
    )
    return CompoundPanel(
        template="volunteers/_compound_panel.html",
        context={
            "compound": compound,
            "teams": teams,
            "duty": duty,
            "gap": max(0, duty.needed - duty.assigned) if duty else 0,
        },
        order=20,
    )
