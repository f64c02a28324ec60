"""Pages of the care app: a volunteer's check (360 px, a few taps), a compound's day of
checks, the residents not yet served today, needs, and the community's care plan."""

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Community, Compound, address_label
from residents import registry
from residents.models import Category
from residents.rules import may_call_resident
from volunteers.models import Volunteer
from volunteers.registry import ERRAND, Task
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.params import date_param, int_param
from wuyi.lib.urls import reverser

from . import rules, selectors, services
from .forms import PlanForm, ReassignForm, RecordForm
from .models import CarePlan, Need, NeedStatus, WelfareCheck, is_done


def _day(request: AuthedHttpRequest) -> datetime.date:
    return date_param(request.GET, "date") or timezone.localdate()


def _volunteers(compound_id: int):
    return (
        Volunteer.objects.filter(memberships__team__compounds=compound_id)
        .distinct()
        .order_by("name")
    )


# ----------------------------------------------------------------------------- the check


@login_required
def check_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One resident's check: who, where, a call button, and the outcome in one tap. A POST
    records it (and answers the offline replay the same way)."""
    check = get_visible_or_404(
        WelfareCheck.objects.select_related(
            "resident", "household__building", "compound", "volunteer"
        ),
        request.user,
        pk=pk,
    )
    may_record = rules.may_record(request.user, check)
    if not may_record and not rules.may_read(request.user):
        # A volunteer of the compound whose check this is not: as if it did not exist.
        require(False, hide=True)
    form = RecordForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.check_record(by=request.user, check=check, **form.cleaned_data)
            except Refused as refused:
                add_to_form(form, refused)
                messages.error(request, str(refused.message))
            else:
                if _turnable(request.user, check.needs.all()):
                    # One more tap turns the need into an order or a request: on this page.
                    messages.success(request, _("Recorded. One more tap sends the need on."))
                    return redirect("care:check", pk=check.pk)
                messages.success(request, _("Recorded. Thank you."))
                if rules.may_organise(request.user):
                    return redirect("care:check", pk=check.pk)
                return redirect("volunteers:today")
        else:
            messages.error(request, _("Choose how the check went."))
    may_organise = rules.may_organise(request.user)
    return render(
        request,
        "care/check.html",
        {
            "check": check,
            "form": form,
            "may_record": may_record and check.date == timezone.localdate(),
            "targets": rules.CHECK.targets(check.outcome, by=request.user, obj=check),
            "may_call": may_call_resident(request.user, check.resident),
            "may_organise": may_organise,
            "tomorrow_nine": _tomorrow_nine(),
            "reassign": ReassignForm(
                initial={"volunteer": check.volunteer_id},
                volunteers=_volunteers(check.compound_id),
            )
            if may_organise and not check.done
            else None,
            "needs": _with_turns(request.user, check.needs.order_by("created_at")),
        },
    )


def _with_turns(user: Any, needs: Any) -> list[tuple[Need, Any]]:
    """Each need with the one-tap turn the user may make of it (None: none)."""
    out = []
    for need in needs:
        turn = registry.need_turn(need.kind) if services.may_turn(user, need) else None
        out.append((need, turn))
    return out


def _turnable(user: Any, needs: Any) -> bool:
    return any(turn is not None for _need, turn in _with_turns(user, needs))


@login_required
@require_POST
def need_turn(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One more tap: a need becomes an order or an escort request (services.need_turn)."""
    need = get_visible_or_404(Need.objects.select_related("welfare_check"), request.user, pk=pk)
    require(services.may_turn(request.user, need) or need.status != NeedStatus.OPEN)
    when = None
    if request.POST.get("when"):
        when = _when(str(request.POST["when"])[:20])
    try:
        if when is False:
            raise Refused(_("Give the day and time as 2026-12-05 09:00."), field="when")
        done = services.need_turn(by=request.user, need=need, when=when)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(request, _("Done: %(made)s.") % {"made": done.made})
    if request.POST.get("back") == "check" and need.welfare_check_id:
        return redirect("care:check", pk=need.welfare_check_id)
    return redirect("care:needs")


def _when(text: str) -> Any:
    """A datetime-local value as an aware datetime; False when it is not one."""
    from django.utils.dateparse import parse_datetime

    try:
        at = parse_datetime(text)
    except ValueError:
        return False
    if at is None:
        return False
    return timezone.make_aware(at) if timezone.is_naive(at) else at


@login_required
@require_POST
def check_assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    check = get_visible_or_404(
        WelfareCheck.objects.select_related("volunteer"),
        request.user,
        pk=pk,
        may=rules.may_organise,
    )
    form = ReassignForm(request.POST, volunteers=_volunteers(check.compound_id))
    if form.is_valid():
        try:
            services.check_reassign(
                by=request.user, check=check, volunteer=form.cleaned_data["volunteer"]
            )
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(request, _("Reassigned."))
    else:
        messages.error(request, _("Choose a volunteer serving this compound."))
    return redirect("care:check", pk=check.pk)


# ----------------------------------------------------------------------------- the compound


def _compound(request: AuthedHttpRequest, pk: int) -> Compound:
    return get_visible_or_404(Compound, request.user, pk=pk, may=rules.may_read)


@login_required
def compound_day(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = _compound(request, pk)
    day = _day(request)
    checks = list(selectors.compound_checks(user=request.user, compound=compound, day=day))
    return render(
        request,
        "care/compound_day.html",
        {
            "compound": compound,
            "day": day,
            "checks": checks,
            "open": sum(not c.done for c in checks),
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
@require_POST
def compound_generate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The secretary's "make today's checks now" (the job does it every morning)."""
    compound = get_visible_or_404(Compound, request.user, pk=pk, may=rules.may_organise)
    try:
        result = services.checks_generate(
            day=timezone.localdate(), compounds=[compound.pk], by=request.user
        )
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(
            request,
            _("%(created)d checks made, %(existed)d already there.")
            % {"created": result.created, "existed": result.existed},
        )
    return redirect("care:compound", pk=compound.pk)


@login_required
def served(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """今日已服务: the compound's ledger residents, those nobody reached today first."""
    compound = _compound(request, pk)
    day = timezone.localdate()
    lines = selectors.served_today(user=request.user, day=day, compound=compound)
    return render(
        request,
        "care/served.html",
        {
            "compound": compound,
            "day": day,
            "lines": lines,
            "unserved": sum(not line.served for line in lines),
        },
    )


# ----------------------------------------------------------------------------- needs, plans


@login_required
def needs(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user), hide=True)
    rows = (
        Need.objects.visible_to(request.user)
        .select_related("resident__household__building", "compound", "created_by")
        .order_by("status", "-created_at")[:200]
    )
    return render(
        request,
        "care/needs.html",
        {
            "needs": _with_turns(request.user, rows),
            "may_organise": rules.may_organise(request.user),
            "OPEN": NeedStatus.OPEN,
            "tomorrow_nine": _tomorrow_nine(),
        },
    )


def _tomorrow_nine() -> str:
    """The escort button's default day and time, as a datetime-local value."""
    return f"{timezone.localdate() + datetime.timedelta(days=1):%Y-%m-%d}T09:00"


@login_required
@require_POST
def need_handle(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    need = get_visible_or_404(Need, request.user, pk=pk, may=rules.may_organise)
    try:
        services.need_handle(by=request.user, need=need)
    except Refused as refused:
        messages.error(request, str(refused.message))
    return redirect("care:needs")


@login_required
def plans(request: AuthedHttpRequest) -> HttpResponse:
    """The community's care plan: which ledger categories get a check, how often."""
    require(rules.may_organise(request.user), _("The care plan is the community secretary's."))
    communities = Community.objects.visible_to(request.user).order_by("name")
    chosen = int_param(request.GET, "community")
    community = (chosen and communities.filter(pk=chosen).first()) or communities.first()
    form = PlanForm(request.POST or None)
    if request.method == "POST" and community is not None and form.is_valid():
        try:
            services.care_plan_save(by=request.user, community=community, **form.cleaned_data)
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"{reverse('care:plans')}?community={community.pk}")
    own = list(CarePlan.objects.filter(community=community)) if community else []
    return render(
        request,
        "care/plans.html",
        {
            "community": community,
            "communities": communities,
            "plans": own,
            "default": [
                (Category(category).label, days) for category, days in rules.default_plan().items()
            ],
            "form": form,
        },
    )


# ----------------------------------------------------------------------------- registries


def task_of(check: Any, url_of: Callable[[int], str] | None = None) -> Task:
    """A check in 今日任务, from a row of selectors.my_checks; `url_of`: the check page's
    reverser, made once for a list."""
    return Task(
        key=f"welfare:{check.pk}",
        kind=_("Welfare check"),
        title=check.resident__name,
        detail=address_label(
            check.household__building__number, check.household__unit, check.household__room
        ),
        done=is_done(check.outcome),
        url=(url_of or reverser("care:check"))(check.pk),
        rank=ERRAND + 5,
    )


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """The volunteer's welfare checks in 今日任务 (registered in CareConfig.ready); one
    query."""
    if getattr(user, "role", None) != "volunteer":
        return []
    url_of = reverser("care:check")
    return [task_of(c, url_of) for c in selectors.my_checks(user=user, day=day)]
