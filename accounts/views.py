"""The user's own alerts: the list behind the bell, opening one, marking them read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from wuyi.lib.params import choice_param

from . import services
from .access import get_visible_or_404
from .http import AuthedHttpRequest
from .models import Alert

PAGE_SIZE = 30


@login_required
def alert_list(request: AuthedHttpRequest) -> HttpResponse:
    show = choice_param(request.GET, "show", ["unread"])
    alerts = Alert.objects.visible_to(request.user).select_related("about")
    if show == "unread":
        alerts = alerts.unread()
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/alerts.html", {"page": page, "show": show})


def _safe(link: str) -> str:
    """Only a path of this site: a stored link never sends anyone elsewhere."""
    ok = link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    return link if ok else ""


@login_required
def alert_open(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Open one's alert: marked read, and on to what it is about."""
    alert = get_visible_or_404(Alert, request.user, pk=pk)
    services.alerts_mark_read(by=request.user, ids=[alert.pk])
    return redirect(_safe(alert.link) or "alerts:list")


@login_required
@require_POST
def alert_read(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    alert = get_visible_or_404(Alert, request.user, pk=pk)
    services.alerts_mark_read(by=request.user, ids=[alert.pk])
    return redirect("alerts:list")


@login_required
@require_POST
def alerts_read_all(request: AuthedHttpRequest) -> HttpResponse:
    services.alerts_mark_read(by=request.user)
    return redirect("alerts:list")
