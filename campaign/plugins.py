"""What the campaign plugs into the apps below: the badge beside each compound wherever
compounds are listed, a panel on the compound page, and the revocation that follows the
compound's status rising (compounds' own signals, sent inside its transaction)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.services import in_site_language
from compounds.models import ControlStatus
from compounds.registry import (
    CompoundBadge,
    CompoundPanel,
    register_compound_badges,
    register_compound_panel,
)
from compounds.signals import case_recorded, status_rose

from . import rules


def badges(user: Any, compounds: list[Any]) -> dict[int, CompoundBadge]:
    if not rules.may_read(user) or not compounds:
        return {}
    from .selectors import evaluate

    found = {}
    for pk, ev in evaluate(compounds, with_checks=True).items():
        text, css = ev.badge
        if text:
            found[pk] = CompoundBadge(text, css, reverse("campaign:compound", args=[pk]))
    return found


def panel(user: Any, compound: Any) -> CompoundPanel | None:
    if not rules.may_read(user):
        return None
    from .selectors import evaluate_one

    return CompoundPanel(
        template="campaign/_compound_panel.html",
        context={"evaluation": evaluate_one(compound)},
        order=5,
    )


@in_site_language
def on_status_rose(sender: Any, compound: Any, change: Any, by: Any, **kwargs: Any) -> None:
    from .services import revoke_for_compound

    revoke_for_compound(
        compound=compound,
        reason=_("status raised to “%(status)s”: %(reason)s")
        % {"status": ControlStatus(change.to_status).label, "reason": change.reason},
    )


@in_site_language
def on_case_recorded(sender: Any, compound: Any, case: Any, by: Any, **kwargs: Any) -> None:
    from .services import revoke_for_compound

    revoke_for_compound(
        compound=compound,
        reason=_("a positive case found on %(date)s") % {"date": case.found_on.isoformat()},
    )


def register() -> None:
    from compounds.figures import register_figures

    from .figures import figures

    register_compound_badges(badges)
    register_figures(figures)
    register_compound_panel(panel)
    status_rose.connect(on_status_rose, dispatch_uid="campaign.on_status_rose")
    case_recorded.connect(on_case_recorded, dispatch_uid="campaign.on_case_recorded")
