"""What the overview shows for one node of the place tree: the drill-down table, the compound
grid and every installed app's figures (compounds.figures); a constant number of queries."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from accounts.models import Level
from compounds.figures import Alert, Chart, Figure, Places, collect, refreshing
from compounds.models import Compound
from compounds.selectors import Overview, status_overview

# The compound column a node's level filters on.
NODE_FILTER: dict[str, str] = {
    Level.DISTRICT: "district_id",
    Level.SUBDISTRICT: "subdistrict_id",
    Level.COMMUNITY: "community_id",
    Level.COMPOUND: "pk",
}
# Above this many compounds the grid is not drawn (a city's worth still reads as a picture).
GRID_LIMIT = 5000


@dataclass
class Dashboard:
    figures: list[Figure]
    alerts: list[Alert]
    charts: list[Chart]
    overview: Overview | None
    grid: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, list[Figure]]]:
        """The figures grouped under their section, in the order the sections first come."""
        grouped: dict[str, list[Figure]] = {}
        for figure in self.figures:
            grouped.setdefault(figure.section, []).append(figure)
        return list(grouped.items())


def places_under(
    user: Any,
    level: str | None,
    place_id: int | None,
    *,
    day: datetime.date | None = None,
    now: datetime.datetime | None = None,
    brief: bool = False,
) -> Places:
    """The compounds a user may see under one node (all they may see when level is None)."""
    compounds = Compound.objects.visible_to(user) if user is not None else Compound.objects.all()
    if level is not None:
        compounds = compounds.filter(**{NODE_FILTER[level]: place_id})
    now = now or timezone.now()
    return Places(
        compounds=compounds,
        day=day or timezone.localdate(now),
        now=now,
        user=user,
        brief=brief,
    )


def dashboard(*, user: Any, level: str | None = None, place_id: int | None = None) -> Dashboard:
    places = places_under(user, level, place_id)
    found = collect(places)
    overview = None
    if level != Level.COMPOUND:
        overview = status_overview(user=user, level=level, place_id=place_id)
    grid = list(
        places.compounds.order_by("community_id", "name").values("id", "name", "status")[
            :GRID_LIMIT
        ]
    )
    return Dashboard(
        figures=found.figures,
        alerts=found.alerts,
        charts=found.charts,
        overview=overview,
        grid=grid,
    )


def figures_refresh() -> int:
    """Make every count kept for 15 minutes (compounds.figures.cached_per_compound: residents
    and vulnerable residents per compound, the campaign's stages) again for the whole city, so
    that no page pays for making them: the periodic refresh_figures. Idempotent. Returns the
    number of compounds counted."""
    places = places_under(None, None, None)
    with refreshing():
        collect(places)
    return places.compounds.count()
