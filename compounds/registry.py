"""What upper apps add to the compound page, without compounds importing them.

The residents app (and later supplies, sanitation…) registers a provider in its
AppConfig.ready(); the compound page asks every provider for a panel: a template, its context,
and where each building's page is (the building page of the register lives upstairs).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompoundPanel:
    template: str
    context: dict[str, Any]
    building_urls: dict[int, str] = field(default_factory=dict)
    order: int = 100


PanelProvider = Callable[[Any, Any], CompoundPanel | None]
_panel_providers: list[PanelProvider] = []


def register_compound_panel(provider: PanelProvider) -> None:
    """`provider(user, compound)` returns a panel for the compound page, or None."""
    if provider not in _panel_providers:
        _panel_providers.append(provider)


def compound_panels(user: Any, compound: Any) -> list[CompoundPanel]:
    panels = [p for p in (provider(user, compound) for provider in _panel_providers) if p]
    return sorted(panels, key=lambda panel: panel.order)


# ----------------------------------------------------------------------------- warnings


@dataclass(frozen=True)
class CompoundWarning:
    """Something the compound needs and lacks, said on its page (a newly sealed compound with
    no disinfection areas gets no rounds; without a medical worker nobody is on call)."""

    text: str
    url: str = ""  # where it is put right, if the user may go there
    danger: bool = False  # people go without (red) rather than a gap to fill (orange)


WarningProvider = Callable[[Any, Any], list[CompoundWarning]]
_warning_providers: list[WarningProvider] = []


def register_compound_warning(provider: WarningProvider) -> None:
    """`provider(user, compound)` returns what the compound lacks ([] when nothing): apps above
    register one in their AppConfig.ready(), as for panels."""
    if provider not in _warning_providers:
        _warning_providers.append(provider)


def compound_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    found = [w for provider in _warning_providers for w in provider(user, compound)]
    return sorted(found, key=lambda w: not w.danger)


# ----------------------------------------------------------------------------- list badges


@dataclass(frozen=True)
class CompoundBadge:
    """A word beside a compound wherever compounds are listed (the campaign's "certified")."""

    text: str
    css: str = ""  # a class of wuyi.css: ok, warn, danger or empty
    url: str = ""


BadgeProvider = Callable[[Any, list[Any]], dict[int, CompoundBadge]]


def _itself(row: Any) -> Any:
    return row


_badge_providers: list[BadgeProvider] = []


def register_compound_badges(provider: BadgeProvider) -> None:
    """`provider(user, compounds)` returns {compound id: badge} for a page of compounds, in a
    constant number of queries whatever the page's size."""
    if provider not in _badge_providers:
        _badge_providers.append(provider)


def compound_badges(user: Any, compounds: list[Any]) -> dict[int, list[CompoundBadge]]:
    found: dict[int, list[CompoundBadge]] = {}
    for provider in _badge_providers:
        for pk, badge in provider(user, compounds).items():
            found.setdefault(pk, []).append(badge)
    return found


def attach_badges(user: Any, rows: Iterable[Any], compound: Callable[[Any], Any] = _itself) -> None:
    """Sets `badges` (a list of CompoundBadge, often empty) on each row of a list of compounds,
    wherever compounds are listed: `compound(row)` gives the row's compound, or its id. Each
    provider is asked once for the whole page, so the page's queries do not grow with its
    rows; compounds given by id (or loaded with deferred fields, which a provider would read
    one query each) are read first, in one query. Templates show them with
    partials/compound_badges.html."""
    from .models import Compound

    rows = list(rows)
    given = [compound(row) for row in rows]
    complete: dict[int, Any] = {
        c.pk: c for c in given if isinstance(c, Compound) and not c.get_deferred_fields()
    }
    wanted = {c.pk if isinstance(c, Compound) else c for c in given} - {None}
    badges: dict[int, list[CompoundBadge]] = {}
    if _badge_providers and wanted:
        if wanted - set(complete):
            complete.update(
                (c.pk, c) for c in Compound.objects.filter(pk__in=wanted - set(complete))
            )
        badges = compound_badges(user, list(complete.values()))
    for row, c in zip(rows, given, strict=True):
        row.badges = badges.get(c.pk if isinstance(c, Compound) else c, [])
