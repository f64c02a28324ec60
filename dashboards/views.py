import hashlib
from html import escape
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from accounts.access import get_visible_or_404, require, scope_of
from accounts.http import AuthedHttpRequest
from accounts.models import Level, Role
from compounds.models import Community, Compound, ControlStatus, District, Subdistrict
from compounds.registry import attach_badges
from compounds.selectors import place_of_user
from volunteers.rules import works_in_the_field
from wuyi.lib.downloads import attach
from wuyi.lib.params import date_param

from .reports import past_reports, read_report, report_path
from .rules import may_read_reports, may_see_overview
from .selectors import dashboard

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_MODELS: dict[str, type[District] | type[Subdistrict] | type[Community] | type[Compound]] = {
    Level.DISTRICT: District,
    Level.SUBDISTRICT: Subdistrict,
    Level.COMMUNITY: Community,
    Level.COMPOUND: Compound,
}
# What to join when loading a node, for its breadcrumbs.
_PARENTS: dict[str, tuple[str, ...]] = {
    Level.DISTRICT: (),
    Level.SUBDISTRICT: ("district",),
    Level.COMMUNITY: ("subdistrict__district",),
    Level.COMPOUND: ("community", "subdistrict", "district"),
}


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    """Staff land on the overview of their area, those in the field on today's tasks, the
    secretaries on their compounds."""
    if request.user.is_superuser or request.user.role in (
        Role.DISTRICT_STAFF,
        Role.SUBDISTRICT_STAFF,
    ):
        return redirect("dashboards:overview")
    if works_in_the_field(request.user):
        return redirect("volunteers:today")
    return redirect("compounds:list")


@login_required
def overview(request: AuthedHttpRequest) -> HttpResponse:
    require(may_see_overview(request.user))
    place = place_of_user(request.user)
    level = next((lv for lv, model in _MODELS.items() if isinstance(place, model)), None)
    if place is not None and level is not None:
        return redirect("dashboards:area", level=level, pk=place.pk)
    # Everything (superusers), or several places: the districts they lie in, drilling down.
    return _render_overview(request, level=None, node=None)


@login_required
def area(request: AuthedHttpRequest, level: str, pk: int) -> HttpResponse:
    require(may_see_overview(request.user))
    model = _MODELS.get(level)
    if model is None:
        raise Http404
    nodes = model.objects.select_related(*_PARENTS[level])
    node = get_visible_or_404(nodes, request.user, pk=pk)
    return _render_overview(request, level=level, node=node)


def _breadcrumbs(level: str | None, node) -> list[tuple[str, int, str]]:
    """(level, id, name) from the district down to the node."""
    if node is None:
        return []
    chain = []
    if level == Level.COMPOUND:
        chain = [
            (Level.DISTRICT, node.district),
            (Level.SUBDISTRICT, node.subdistrict),
            (Level.COMMUNITY, node.community),
            (Level.COMPOUND, node),
        ]
    elif level == Level.COMMUNITY:
        chain = [
            (Level.DISTRICT, node.subdistrict.district),
            (Level.SUBDISTRICT, node.subdistrict),
            (Level.COMMUNITY, node),
        ]
    elif level == Level.SUBDISTRICT:
        chain = [(Level.DISTRICT, node.district), (Level.SUBDISTRICT, node)]
    elif level == Level.DISTRICT:
        chain = [(Level.DISTRICT, node)]
    return [(lvl, place.pk, place.name) for lvl, place in chain]


def _grid_html(grid: list[dict[str, Any]]) -> str:
    """The compound grid's cells, one link each: built here in one pass, since a district's
    thousand cells through the template language cost more than all the figures' queries."""
    prefix = escape(reverse("dashboards:area", args=[Level.COMPOUND, 0]).removesuffix("0/"))
    cells = []
    for c in grid:
        name = escape(c["name"])
        status = escape(c["status"])
        cells.append(
            f'<a class="cell status-{status}" href="{prefix}{int(c["id"])}/" title="{name}">'
            f'<span class="sr-only">{name}</span></a>'
        )
    return mark_safe("".join(cells))  # noqa: S308 - every value above is escaped


def board_seconds() -> int:
    """How long a node's board (its figures, alerts, charts, grid and drill-down) is kept once
    rendered (settings.WUYI_BOARD_SECONDS): every district staff member who sees the same
    compounds, with the same role, in the same language, is shown the same board until then
    (the page says as of when). A dashboard a few seconds behind is acceptable
    (wuyi/replica.py); 30 overview requests a second then cost one board every 30 seconds,
    not thirty a second. 0: made on every request."""
    return int(getattr(settings, "WUYI_BOARD_SECONDS", 0))


def board_cache_key(user: Any, level: str | None, place_id: int | None) -> str:
    """Everything a board depends on: the node, the compounds the user may see (their scope),
    what the user may open (every may_* a figure's link asks is a role's: the role, superuser),
    the language of its words and the day it counts."""
    scope = scope_of(user)
    seen = hashlib.sha256(repr(scope).encode()).hexdigest()[:24]
    return ":".join(
        [
            "dashboards:board:v1",
            str(level),
            str(place_id),
            str(getattr(user, "role", "")),
            "su" if user.is_superuser else "-",
            seen,
            get_language() or "",
            timezone.localdate().isoformat(),
        ]
    )


def _board_html(request: AuthedHttpRequest, *, level: str | None, node) -> str:
    """The board of one node, rendered at most once every board_seconds() for those who see
    the same (board_cache_key)."""
    place_id = node.pk if node else None
    seconds = board_seconds()
    key = board_cache_key(request.user, level, place_id)
    html = cache.get(key) if seconds > 0 else None
    if html is not None:
        return mark_safe(html)  # noqa: S308 - rendered by the template below, escaped there
    board = dashboard(user=request.user, level=level, place_id=place_id)
    if board.overview is not None and board.overview.level == Level.COMPOUND:
        # Rooted at a community the rows are its compounds: each with its badges (what the
        # badges show depends on the role, which the cache key holds).
        attach_badges(request.user, board.overview.rows, lambda row: row.id)
    html = render_to_string(
        "dashboards/_board.html",
        {
            "board": board,
            "overview": board.overview,
            "statuses": ControlStatus.choices,
            "made_at": timezone.localtime(),
            "grid_html": _grid_html(board.grid),
            "charts_json": [
                {
                    "id": f"chart-{i}",
                    "kind": c.kind,
                    "stacked": c.stacked,
                    "labels": c.labels,
                    "series": [{"name": name, "values": values} for name, values in c.series],
                }
                for i, c in enumerate(board.charts)
            ],
        },
    )
    if seconds > 0:
        cache.set(key, html, seconds)
    return mark_safe(html)  # noqa: S308 - rendered by the template above, escaped there


def _render_overview(request: AuthedHttpRequest, *, level: str | None, node) -> HttpResponse:
    return render(
        request,
        "dashboards/overview.html",
        {
            "node": node,
            "level": level,
            "breadcrumbs": _breadcrumbs(level, node),
            "board_html": _board_html(request, level=level, node=node),
        },
    )


# ----------------------------------------------------------------------------- daily reports


@login_required
def reports(request: AuthedHttpRequest) -> HttpResponse:
    """The daily reports written for the districts the user answers for, newest first."""
    require(may_read_reports(request.user))
    districts = District.objects.visible_to(request.user).order_by("code")
    listed = [(district, past_reports(district)) for district in districts]
    return render(request, "dashboards/reports.html", {"listed": listed})


def _report_file(request: AuthedHttpRequest, pk: int, day: str) -> tuple[District, Any, Path]:
    require(may_read_reports(request.user))
    district = get_visible_or_404(District, request.user, pk=pk)
    when = date_param({"day": day}, "day")
    if when is None:
        raise Http404
    path = report_path(district, when)
    if not path.is_file():
        raise Http404
    return district, when, path


@login_required
def report(request: AuthedHttpRequest, pk: int, day: str) -> HttpResponse:
    """The printable page of a written report (read from its file)."""
    district, when, path = _report_file(request, pk, day)
    return render(
        request,
        "dashboards/report.html",
        {"district": district, "day": when, "sections": read_report(path)},
    )


@login_required
def report_xlsx(request: AuthedHttpRequest, pk: int, day: str) -> FileResponse:
    district, when, path = _report_file(request, pk, day)
    return attach(
        FileResponse(path.open("rb"), content_type=XLSX),
        f"{district.name}日报-{when.isoformat()}.xlsx",
        fallback=f"daily-report-{district.code}-{when.isoformat()}.xlsx",
    )
