"""What volunteers plug into lower apps' registries: their panel on the compound page
(compounds.registry), their audiences and system texts (messaging.registry). Registered from
VolunteersConfig.ready()."""

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.figures import Contribution, Figure, register_figures, tally
from compounds.registry import CompoundPanel, register_compound_panel
from messaging.registry import register_system_templates

from . import audiences, rules, selectors
from .models import Assignment, Team
from .notify import LOGIN_LINK


def register() -> None:
    register_figures(figures)
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


def figures(places: Any) -> Contribution:
    """Volunteers on a shift running now, and those of them checked in: one query."""
    section = _("Volunteers")
    counts = tally(
        places,
        Assignment.objects.filter(
            shift__compound__in=places.compound_ids(),
            shift__starts_at__lte=places.now,
            shift__ends_at__gt=places.now,
        ),
        community="shift__compound__community_id",
        on_duty=Count("volunteer", distinct=True),
        checked_in=Count(
            "volunteer",
            distinct=True,
            filter=Q(checked_in_at__isnull=False, checked_out_at__isnull=True),
        ),
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
                per=counts.split("on_duty"),
            ),
            Figure(
                "volunteers.checked_in",
                section,
                _("Volunteers checked in now"),
                counts["checked_in"],
                note=_("On a shift running now, checked in and not yet out"),
                url=url,
                order=81,
                per=counts.split("checked_in"),
            ),
        ]
    )
