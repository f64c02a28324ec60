from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import get_visible_or_404
from accounts.http import AuthedHttpRequest
from wuyi.lib.errors import add_to_form
from wuyi.lib.params import choice_param, text_param

from . import selectors, services
from .forms import StatusChangeForm
from .models import Compound, ControlStatus
from .registry import attach_badges, compound_panels
from .rules import may_change_status

PAGE_SIZE = 50


@login_required
def compound_list(request: AuthedHttpRequest) -> HttpResponse:
    status = choice_param(request.GET, "status", ControlStatus.values)
    query = text_param(request.GET, "q", max_length=100)
    compounds = selectors.compound_list(user=request.user, status=status, query=query)
    page = Paginator(compounds, PAGE_SIZE).get_page(request.GET.get("page"))
    attach_badges(request.user, page)
    context = {
        "page": page,
        "status": status,
        "query": query,
        "statuses": ControlStatus.choices,
    }
    template = "compounds/_compound_rows.html" if request.htmx else "compounds/compound_list.html"
    return render(request, template, context)


@login_required
def compound_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        detail = selectors.compound_detail(user=request.user, compound_id=pk)
    except Compound.DoesNotExist:
        raise Http404 from None
    panels = compound_panels(request.user, detail.compound)
    building_urls = {pk: url for panel in panels for pk, url in panel.building_urls.items()}
    return render(
        request,
        "compounds/compound_detail.html",
        {
            "compound": detail.compound,
            "buildings": [(b, building_urls.get(b.pk)) for b in detail.buildings],
            "history": detail.history,
            "panels": panels,
            "may_change_status": may_change_status(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def compound_change_status(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = get_visible_or_404(Compound, request.user, pk=pk, may=may_change_status)
    form = StatusChangeForm(request.POST or None, compound=compound)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new_case = None
        if data["new_case"]:
            building = data["case_building"]
            new_case = services.NewCase(
                found_on=data["case_date"],
                building_id=building.pk if building else None,
                note=data["reason"],
            )
        try:
            services.compound_change_status(
                compound_id=compound.pk,
                to_status=data["to_status"],
                reason=data["reason"],
                expected_from=data["expected_from"],
                by=request.user,
                new_case=new_case,
            )
        except services.TransitionRefused as refused:
            add_to_form(form, refused)
        else:
            compound.refresh_from_db()
            messages.success(
                request,
                _("%(name)s is now “%(status)s”.")
                % {"name": compound.name, "status": compound.get_status_display()},
            )
            return redirect("compounds:detail", pk=compound.pk)
    return render(
        request,
        "compounds/compound_status_form.html",
        {
            "compound": compound,
            "form": form,
            "step_down_from": services.step_down_date(compound),
        },
        status=400 if request.method == "POST" else 200,
    )
