"""What care plugs into the lower apps' registries (registered from CareConfig.ready)."""

from typing import Any

from django.utils import timezone

from compounds.registry import CompoundPanel

from . import rules
from .models import Outcome, WelfareCheck


def serves(user: Any, household_id: int) -> bool:
    """residents.registry.register_served_households: a volunteer holding an open welfare
    check at this household today may call it (and nothing more)."""
    return WelfareCheck.objects.filter(
        household_id=household_id,
        date=timezone.localdate(),
        volunteer__user=user,
        outcome__in=[Outcome.OPEN, Outcome.NOT_REACHED],
    ).exists()


def compound_panel(user: Any, compound: Any) -> CompoundPanel | None:
    """Today's welfare checks on the compound page, one click from who is not yet served."""
    if not rules.may_read(user):
        return None
    day = timezone.localdate()
    checks = WelfareCheck.objects.filter(compound=compound, date=day)
    total = checks.count()
    return CompoundPanel(
        template="care/_compound_panel.html",
        context={
            "compound": compound,
            "total": total,
            "open": checks.filter(outcome__in=[Outcome.OPEN, Outcome.NOT_REACHED]).count()
            if total
            else 0,
            "day": day,
        },
        order=35,
    )


def register() -> None:
    from compounds.registry import register_compound_panel
    from residents.registry import register_contacts, register_served_households
    from volunteers.registry import register_task_provider

    from .selectors import welfare_contacts, welfare_reached
    from .views import today_tasks

    register_contacts(welfare_contacts, reached=welfare_reached)
    register_served_households(serves)
    register_task_provider(today_tasks)
    register_compound_panel(compound_panel)
    from compounds.figures import register_figures

    from .figures import figures

    register_figures(figures)
    from residents.registry import register_household_action

    from .household import NEED_ACTION

    register_household_action(NEED_ACTION)
