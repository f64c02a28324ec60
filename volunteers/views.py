"""Pages: the volunteer's phone view of today, and the secretary's and district staff's pages
for teams, branches, volunteers, shift plans, duty and hours."""

import datetime
import functools
import tempfile
from typing import cast

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from accounts.models import Level
from compounds.models import Community, Compound
from compounds.selectors import place_of_user
from wuyi.lib.downloads import attach
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.params import date_param, int_param
from wuyi.lib.public import public_url
from wuyi.lib.spreadsheets import ImportFileError, write_xlsx

from . import notify, registry, rules, selectors, services
from .forms import (
    ApplyForm,
    AssignForm,
    BranchForm,
    FirstPasswordForm,
    ImportForm,
    MemberForm,
    RangeForm,
    TeamForm,
    TemplateForm,
    VolunteerForm,
)
from .models import Assignment, Membership, PartyBranch, Shift, ShiftTemplate, Team, Volunteer


class _ChooseCommunity(Exception):
    """An administrator opened a community's page without saying which community."""


def _community_of(request) -> Community:
    """The community a secretary organises (the one community they are posted to); an
    administrator names it in the address (?community=), after choosing it from a list."""
    user = request.user
    community = place_of_user(user, level=Level.COMMUNITY)
    if community is not None:
        return cast(Community, community)
    require(user.is_superuser, _("Volunteers are organised by the community secretary."))
    pk = int_param(request.GET, "community")
    if pk is None:
        raise _ChooseCommunity
    return get_visible_or_404(Community, user, pk=pk)


def _organiser(request) -> Community:
    require(
        rules.may_organise(request.user), _("Volunteers are organised by the community secretary.")
    )
    return _community_of(request)


def _for_a_community(view):
    """A community's page opened by an administrator without one: the list to choose from."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _ChooseCommunity:
            communities = Community.objects.visible_to(request.user).order_by("code")[:500]
            return render(
                request,
                "volunteers/pick_community.html",
                {"communities": communities, "next": request.path},
            )

    return wrapper


def _link(request, token: str) -> str:
    return public_url(request, reverse("volunteers:link", args=[token]))


def _links(request, created) -> list[tuple[Volunteer, str, bool]]:
    """Each new link, also sent to the volunteer by SMS where the template is approved:
    (volunteer, link, whether the SMS was queued)."""
    site = public_url(request, "/").rstrip("/")
    return [
        (
            v,
            _link(request, t),
            notify.login_link_sms(by=request.user, volunteer=v, token=t, site=site),
        )
        for v, t in created
    ]


# ----------------------------------------------------------------------------- the phone view


@login_required
def today(request: AuthedHttpRequest) -> HttpResponse:
    """今日任务: the day's shifts and the tasks other apps give this user, at 360 px first."""
    day = timezone.localdate()
    assignments = selectors.my_assignments(user=request.user, day=day)
    tasks = registry.tasks_for(request.user, day)
    return render(
        request,
        "volunteers/today.html",
        {
            "day": day,
            "assignments": assignments,
            "tasks": tasks,
            "groups": registry.group_tasks(tasks),
            "now": timezone.now(),
        },
    )


def _assignment_of(request: AuthedHttpRequest, pk: int) -> Assignment:
    return get_visible_or_404(
        Assignment.objects.select_related("shift__compound", "volunteer"), request.user, pk=pk
    )


@login_required
@require_POST
def check_in(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment_of(request, pk)
    try:
        services.check_in(by=request.user, assignment=assignment)
    except Refused as refused:
        messages.error(request, str(refused.message))
    return _assignment_response(request, assignment)


@login_required
@require_POST
def check_out(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    assignment = _assignment_of(request, pk)
    try:
        services.check_out(by=request.user, assignment=assignment)
    except Refused as refused:
        messages.error(request, str(refused.message))
    return _assignment_response(request, assignment)


def _assignment_response(request: AuthedHttpRequest, assignment: Assignment) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "volunteers/_shift.html",
            {"a": assignment, "now": timezone.now(), "refused": messages.get_messages(request)},
        )
    return redirect("volunteers:today")


def login_link(request: HttpRequest, token: str) -> HttpResponse:
    """A one-time link: logs the volunteer in once, then asks for a password."""
    if request.method == "POST":
        try:
            user = services.login_link_use(token=token)
        except Refused as refused:
            return render(request, "volunteers/link.html", {"refused": refused}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("volunteers:password")
    # GET shows a button: link previewers (chat apps open links) must not spend it.
    return render(request, "volunteers/link.html", {"token": token})


@login_required
def first_password(request: AuthedHttpRequest) -> HttpResponse:
    form = FirstPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password is set. Log in with your phone number."))
        return redirect("volunteers:today")
    return render(request, "volunteers/password.html", {"form": form})


# ----------------------------------------------------------------------------- the secretary


@login_required
def volunteer_list(request: AuthedHttpRequest) -> HttpResponse:
    volunteers = (
        Volunteer.objects.visible_to(request.user)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        )
        .order_by("name")
    )
    return render(
        request,
        "volunteers/volunteer_list.html",
        {"volunteers": volunteers[:500], "may_organise": rules.may_organise(request.user)},
    )


@login_required
@_for_a_community
def volunteer_add(request: AuthedHttpRequest) -> HttpResponse:
    community = _organiser(request)
    teams = Team.objects.filter(community=community)
    form = VolunteerForm(request.POST or None, teams=teams)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            volunteer, token = services.volunteer_create(
                by=request.user, community=community, **form.cleaned_data
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            created = _links(request, [(volunteer, token)])
            form = VolunteerForm(teams=teams)
    return render(
        request,
        "volunteers/volunteer_add.html",
        {"form": form, "created": created, "import_form": ImportForm()},
        status=400 if request.method == "POST" and created is None else 200,
    )


@login_required
@_for_a_community
def volunteer_import(request: AuthedHttpRequest) -> HttpResponse:
    community = _organiser(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.volunteers_import(
                by=request.user,
                community=community,
                upload=form.cleaned_data["file"],
                skip_bad_rows=form.cleaned_data["skip_bad_rows"],
            )
        except (Refused, ImportFileError) as refused:
            add_to_form(form, refused)
        else:
            report["created"] = _links(request, report["created"])
    return render(
        request,
        "volunteers/volunteer_import.html",
        {"form": form, "report": report},
        status=400 if report is None and request.method == "POST" else 200,
    )


@login_required
@require_POST
def volunteer_link(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """A new one-time link for a volunteer who lost theirs."""
    volunteer = get_visible_or_404(Volunteer, request.user, pk=pk, may=rules.may_organise)
    token = services.login_link_create(by=request.user, volunteer=volunteer)
    return render(
        request,
        "volunteers/volunteer_add.html",
        {"created": _links(request, [(volunteer, token)]), "form": None},
    )


@login_required
def team_list(request: AuthedHttpRequest) -> HttpResponse:
    teams = (
        Team.objects.visible_to(request.user)
        .select_related("leader")
        .prefetch_related("compounds")
        .annotate(members=Count("memberships"))
        .order_by("community_id", "name")
    )
    return render(
        request,
        "volunteers/team_list.html",
        {"teams": teams, "may_organise": rules.may_organise(request.user)},
    )


@login_required
@_for_a_community
def team_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    community = _organiser(request)
    team = get_visible_or_404(Team, request.user, pk=pk) if pk else None
    compounds = Compound.objects.filter(community=community).order_by("name")
    volunteers = Volunteer.objects.filter(community=community).order_by("name")
    initial = {}
    if team is not None:
        initial = {
            "name": team.name,
            "kind": team.kind,
            "compounds": list(team.compounds.all()),
            "leader": team.leader,
        }
    form = TeamForm(
        request.POST or None, initial=initial, compounds=compounds, volunteers=volunteers
    )
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_save(
                by=request.user, community=community, team=team, **form.cleaned_data
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": team.name})
            return redirect("volunteers:team", pk=team.pk)
    return render(
        request,
        "volunteers/team_form.html",
        {"form": form, "team": team},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def team_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    team = get_visible_or_404(Team.objects.select_related("leader"), request.user, pk=pk)
    may = rules.may_organise(request.user)
    form = None
    if may:
        volunteers = Volunteer.objects.filter(community_id=team.community_id).order_by("name")
        form = MemberForm(request.POST or None, volunteers=volunteers)
        if request.method == "POST" and form.is_valid():
            try:
                services.team_add_member(by=request.user, team=team, **form.cleaned_data)
            except Refused as refused:
                add_to_form(form, refused)
            else:
                return redirect("volunteers:team", pk=team.pk)
    else:
        require(request.method != "POST")  # a reader posting a change
    members = team.memberships.select_related("volunteer").order_by("volunteer__name")
    return render(
        request,
        "volunteers/team_detail.html",
        {"team": team, "members": members, "form": form, "may_organise": may},
    )


@login_required
@require_POST
def team_remove(request: AuthedHttpRequest, pk: int, volunteer_pk: int) -> HttpResponse:
    team = get_visible_or_404(Team, request.user, pk=pk, may=rules.may_organise)
    volunteer = get_visible_or_404(Volunteer, request.user, pk=volunteer_pk)
    services.team_remove_member(by=request.user, team=team, volunteer=volunteer)
    return redirect("volunteers:team", pk=team.pk)


@login_required
def branch_list(request: AuthedHttpRequest) -> HttpResponse:
    branches = (
        PartyBranch.objects.visible_to(request.user)
        .select_related("compound", "secretary")
        .annotate(people=Count("members"))
        .order_by("name")
    )
    return render(
        request,
        "volunteers/branch_list.html",
        {"branches": branches, "may_organise": rules.may_organise(request.user)},
    )


@login_required
@_for_a_community
def branch_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    community = _organiser(request)
    branch = get_visible_or_404(PartyBranch, request.user, pk=pk) if pk else None
    compounds = Compound.objects.filter(community=community).order_by("name")
    volunteers = Volunteer.objects.filter(community=community).order_by("name")
    initial = {}
    if branch is not None:
        initial = {
            "name": branch.name,
            "compound": branch.compound,
            "secretary": branch.secretary,
            "members": list(branch.members.all()),
            "online": branch.online,
            "chat_group": branch.chat_group,
        }
    form = BranchForm(
        request.POST or None, initial=initial, compounds=compounds, volunteers=volunteers
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.branch_save(
                by=request.user, community=community, branch=branch, **form.cleaned_data
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            return redirect("volunteers:branches")
    return render(
        request,
        "volunteers/branch_form.html",
        {"form": form, "branch": branch},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def plan(request: AuthedHttpRequest, compound_pk: int) -> HttpResponse:
    """The week's shift plan of a compound: days × shifts, who works each, the gaps."""
    first = date_param(request.GET, "from") or timezone.localdate()
    try:
        compound, dates, rows, one_offs = selectors.week_plan(
            user=request.user, compound_id=compound_pk, first=first
        )
    except Compound.DoesNotExist:
        raise Http404 from None
    may = rules.may_organise(request.user)
    return render(
        request,
        "volunteers/plan.html",
        {
            "compound": compound,
            "dates": dates,
            "rows": rows,
            "by_day": [
                (day, [(row.template, row.cells[n]) for row in rows]) for n, day in enumerate(dates)
            ],
            "one_offs": one_offs,
            "may_organise": may,
            "template_form": TemplateForm() if may else None,
            "apply_form": ApplyForm() if may else None,
            "previous": first - datetime.timedelta(days=7),
            "next": first + datetime.timedelta(days=7),
        },
    )


@login_required
@require_POST
def template_add(request: AuthedHttpRequest, compound_pk: int) -> HttpResponse:
    compound = get_visible_or_404(Compound, request.user, pk=compound_pk, may=rules.may_organise)
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            services.shift_template_save(by=request.user, compound=compound, **form.cleaned_data)
        except Refused as refused:
            messages.error(request, " ".join(refused.errors.values()))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("volunteers:plan", compound_pk=compound.pk)


@login_required
@require_POST
def plan_apply(request: AuthedHttpRequest, compound_pk: int) -> HttpResponse:
    compound = get_visible_or_404(Compound, request.user, pk=compound_pk, may=rules.may_organise)
    form = ApplyForm(request.POST)
    if form.is_valid():
        templates = list(ShiftTemplate.objects.filter(compound=compound))
        try:
            created, existed = services.shifts_apply(
                by=request.user, templates=templates, **form.cleaned_data
            )
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(
                request,
                _("Created %(created)d shifts; %(existed)d existed already.")
                % {"created": created, "existed": existed},
            )
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    url = reverse("volunteers:plan", args=[compound.pk])
    return redirect(f"{url}?from={form.data.get('first', '')}")


@login_required
def shift_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    shift = get_visible_or_404(Shift.objects.select_related("compound"), request.user, pk=pk)
    may = rules.may_organise(request.user)
    form = None
    if may:
        serving = Volunteer.objects.filter(memberships__team__compounds=shift.compound).distinct()
        form = AssignForm(request.POST or None, volunteers=serving.order_by("name"))
        if request.method == "POST" and form.is_valid():
            try:
                services.shift_assign(by=request.user, shift=shift, **form.cleaned_data)
            except Refused as refused:
                add_to_form(form, refused)
            else:
                return redirect("volunteers:shift", pk=shift.pk)
    else:
        require(request.method != "POST")  # a reader posting a change
    assignments = shift.assignments.select_related("volunteer").order_by("id")
    return render(
        request,
        "volunteers/shift_detail.html",
        {"shift": shift, "assignments": assignments, "form": form, "may_organise": may},
        status=400 if form is not None and form.errors else 200,
    )


# ----------------------------------------------------------------------------- district staff


def _range(request: HttpRequest) -> tuple[datetime.date, datetime.date, RangeForm]:
    today_ = timezone.localdate()
    form = RangeForm(request.GET or None)
    first, last = today_ - datetime.timedelta(days=6), today_
    if request.GET:
        if not form.is_valid():
            raise Refused(" ".join(str(e) for errs in form.errors.values() for e in errs))
        first, last = form.cleaned_data["first"], form.cleaned_data["last"]
    return first, last, form


@login_required
def duty(request: AuthedHttpRequest) -> HttpResponse:
    """People on duty per compound today, and hours per team over a range."""
    require(
        rules.may_read_duty(request.user),
        _("Duty and hours are for secretaries and district staff."),
    )
    first, last, form = _range(request)
    return render(
        request,
        "volunteers/duty.html",
        {
            "day": timezone.localdate(),
            "rows": selectors.on_duty(user=request.user, day=timezone.localdate()),
            "teams": selectors.hours_by_team(user=request.user, first=first, last=last),
            "form": form,
            "first": first,
            "last": last,
        },
    )


def _hours(worked: datetime.timedelta | None) -> float:
    return round(worked.total_seconds() / 3600, 2) if worked else 0.0


@login_required
def hours_export(request: AuthedHttpRequest) -> FileResponse:
    """Hours per volunteer over a range, as xlsx (the safe export of wuyi.lib)."""
    require(rules.may_read_duty(request.user))
    first, last, _form = _range(request)
    volunteers = selectors.hours_by_volunteer(user=request.user, first=first, last=last)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(
        spool,
        title=_("Hours"),
        header=[_("Name"), _("Phone"), _("Shifts"), _("Hours")],
        rows=(
            [v.name, v.masked_phone, getattr(v, "shifts", 0), _hours(getattr(v, "worked", None))]
            for v in volunteers.iterator(chunk_size=2000)
        ),
    )
    spool.seek(0)
    days = f"{first:%Y%m%d}-{last:%Y%m%d}"
    response = FileResponse(
        spool,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    # Translated outside the f-string: xgettext does not look inside one.
    title = _("Volunteer hours")
    attach(response, f"{title}-{days}.xlsx", fallback=f"volunteer-hours-{days}.xlsx")
    return response
