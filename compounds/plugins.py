"""What compounds plugs into its own registries: the warnings panel on the compound page, and
the place tree's own warnings (who answers for the compound and cannot be reached)."""

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts.models import Level, Role

from .registry import CompoundPanel, CompoundWarning, compound_warnings
from .selectors import users_posted_at

# Who is told of the warnings: those who run the compound and those above them.
READERS = {Role.SECRETARY, Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF}


def _may_read(user: Any) -> bool:
    return bool(user.is_superuser or user.role in READERS)


def warnings_panel(user: Any, compound: Any) -> CompoundPanel | None:
    """Every registered warning, in one panel at the top of the compound page (none: no
    panel)."""
    if not _may_read(user):
        return None
    warnings = compound_warnings(user, compound)
    if not warnings:
        return None
    return CompoundPanel(
        template="compounds/_warnings_panel.html",
        context={"warnings": warnings},
        order=0,
    )


def _user_admin_url(user: Any, viewer: Any) -> str:
    if not viewer.is_superuser:
        return ""
    try:
        return reverse("admin:accounts_user_change", args=[user.pk])
    except NoReverseMatch:
        return ""


def secretary_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A community with no secretary, or a secretary with no mobile number: overdue rounds and
    other escalations reach her only in the app (and the sub-district through it)."""
    secretaries = users_posted_at(Level.COMMUNITY, compound.community_id, roles=[Role.SECRETARY])
    if not secretaries:
        return [
            CompoundWarning(
                _("%(community)s has no community secretary: its alerts go to the sub-district.")
                % {"community": compound.community.name},
                danger=True,
            )
        ]
    return [
        CompoundWarning(
            _(
                "Secretary %(name)s has no mobile number: overdue rounds and escalations reach "
                "them only in the app, and the sub-district with them."
            )
            % {"name": secretary.display_name},
            url=_user_admin_url(secretary, user),
        )
        for secretary in secretaries
        if not secretary.phone
    ]
