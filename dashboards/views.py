from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from accounts.models import Level, Role
from compounds.models import Community, ControlStatus, District, Subdistrict
from compounds.selectors import place_of_user, status_overview
from medical.selectors import coverage
from volunteers.rules import works_in_the_field

from .rules import may_see_overview

_MODELS: dict[str, type[District] | type[Subdistrict] | type[Community]] = {
    Level.DISTRICT: District,
    Level.SUBDISTRICT: Subdistrict,
    Level.COMMUNITY: Community,
}
# What to join when loading a node, for its breadcrumbs.
_PARENTS: dict[str, tuple[str, ...]] = {
    Level.DISTRICT: (),
    Level.SUBDISTRICT: ("district",),
    Level.COMMUNITY: ("subdistrict__district",),
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
    if level == Level.COMMUNITY:
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


def _render_overview(request: AuthedHttpRequest, *, level: str | None, node) -> HttpResponse:
    data = status_overview(user=request.user, level=level, place_id=node.pk if node else None)
    # Controlled compounds lacking a medical worker or a second ambulance (issue 13).
    gaps = coverage(
        user=request.user, flagged_only=True, level=level, place_id=node.pk if node else None
    )
    return render(
        request,
        "dashboards/overview.html",
        {
            "node": node,
            "level": level,
            "overview": data,
            "statuses": ControlStatus.choices,
            "breadcrumbs": _breadcrumbs(level, node),
            "medical_gaps": gaps,
        },
    )
