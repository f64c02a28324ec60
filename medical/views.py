"""Pages: escorts (list, booking, one escort and its steps), recurring schedules, the
emergency form and the district's live board, coverage of controlled compounds, statistics
with their xlsx; the crew's jobs in 今日任务 and the compound page's panel."""

import datetime
import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from accounts.models import User
from compounds.models import Compound, ControlStatus
from compounds.registry import attach_badges
from residents.models import Resident
from wuyi.lib.downloads import attach
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import BadParameter, choice_param, date_param, int_param
from wuyi.lib.spreadsheets import write_xlsx

from . import plugins, rules, selectors, services
from .forms import AssignForm, EmergencyForm, EscortForm, ScheduleForm, ScheduleStatusForm, StepForm
from .models import (
    SERVICE_OF_KIND,
    Ambulance,
    Escort,
    EscortKind,
    EscortStatus,
    Hospital,
    MedicalStaff,
    Schedule,
    ScheduleStatus,
)

MAX_RANGE_DAYS = 366
MSG_NO_AMBULANCE = gettext_lazy(
    "No ambulance is given: each pickup is booked without one, and someone must assign an "
    "ambulance before every trip (the compound page flags those coming up)."
)


def _compound_param(request: AuthedHttpRequest) -> Compound | None:
    pk = int_param(request.GET, "compound")
    if pk is None:
        return None
    return get_visible_or_404(Compound.objects.select_related("community"), request.user, pk=pk)


def _compounds(request: AuthedHttpRequest):
    return Compound.objects.visible_to(request.user).order_by("community_id", "name")[:200]


def _choices(user: Any, compound: Compound) -> dict[str, Any]:
    """What the forms of a compound offer: its residents, hospitals, ambulances, escorts."""
    return {
        "compound_id": compound.pk,
        "residents": Resident.objects.visible_to(user)
        .filter(compound=compound, left_on__isnull=True)
        .select_related("household__building")
        .order_by("name", "pk"),
        "hospitals": Hospital.objects.visible_to(user).filter(active=True).order_by("name"),
        "ambulances": Ambulance.objects.visible_to(user)
        .filter(compound=compound)
        .exclude(status="out_of_service")
        .order_by("plate"),
        "staff": MedicalStaff.objects.visible_to(user)
        .filter(compound=compound, active=True)
        .order_by("name"),
    }


def _range(
    request: AuthedHttpRequest, default_days: int = 7
) -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    start = date_param(request.GET, "start") or today
    end = date_param(request.GET, "end") or start + datetime.timedelta(days=default_days - 1)
    if end < start:
        raise BadParameter(_("The end is before the start."), field="end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadParameter(_("Choose at most a year."), field="end")
    return start, end


# ----------------------------------------------------------------------------- escorts


@login_required
def escorts(request: AuthedHttpRequest) -> HttpResponse:
    if not rules.may_read(request.user):
        return _my_escorts(request)
    start, end = _range(request)
    status = choice_param(request.GET, "status", EscortStatus.values)
    kind = choice_param(request.GET, "kind", EscortKind.values)
    compound = _compound_param(request)
    rows = selectors.escorts(
        user=request.user,
        start=start,
        end=end,
        status=status,
        kind=kind,
        compound_id=compound.pk if compound else None,
    )
    page = CappedPaginator(rows, 50).get_page(int_param(request.GET, "page") or 1)
    return render(
        request,
        "medical/escorts.html",
        {
            "page": page,
            "start": start,
            "end": end,
            "status": status,
            "kind": kind,
            "compound": compound,
            "statuses": EscortStatus.choices,
            "kinds": EscortKind.choices,
            "may_organise": rules.may_organise(request.user),
        },
    )


def _my_escorts(request: AuthedHttpRequest) -> HttpResponse:
    """A crew member who is not a reader (a volunteer on an ambulance) sees the jobs they are
    on, from a week back to a week ahead."""
    today = timezone.localdate()
    rows = selectors.my_escorts_between(
        user=request.user,
        start=today - datetime.timedelta(days=7),
        end=today + datetime.timedelta(days=7),
    )
    return render(request, "medical/my_escorts.html", {"rows": rows})


def _hospitals_for(user: Any, kind: str):
    """The active hospitals in reach that offer the service `kind` needs (all of them when the
    kind is unknown): the booking form offers only those."""
    service = SERVICE_OF_KIND.get(kind)
    hospitals = list(Hospital.objects.visible_to(user).filter(active=True).order_by("name"))
    if service is None:
        return hospitals
    return [h for h in hospitals if h.offers(service)]


def _kind_of(request: AuthedHttpRequest, default: str) -> str:
    kind = (request.POST if request.method == "POST" else request.GET).get("kind")
    return kind if kind in EscortKind.values else default


def _for_kind(request: AuthedHttpRequest, compound: Compound, kind: str) -> dict[str, Any]:
    """The form's choices, its hospitals only those that offer what `kind` needs."""
    choices = _choices(request.user, compound)
    choices["hospitals"] = Hospital.objects.filter(
        pk__in=[h.pk for h in _hospitals_for(request.user, kind)]
    ).order_by("name")
    return choices


def _kind_reloads_hospitals(request: AuthedHttpRequest, form: Any) -> None:
    """Choosing another kind reloads the hospital list (htmx), so a hospital that cannot take
    the patient is never offered."""
    form.fields["kind"].widget.attrs.update(
        {
            "hx-get": request.get_full_path(),
            "hx-target": "#hospital-field",
            "hx-swap": "innerHTML",
            "hx-include": "this",
        }
    )


@login_required
def escort_book(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_organise(request.user))
    compound = _compound_param(request)
    if compound is None:
        return render(
            request,
            "medical/pick_compound.html",
            {"compounds": _compounds(request), "next": reverse("medical:book")},
        )
    kind = _kind_of(request, EscortKind.DIALYSIS)
    form = EscortForm(
        request.POST or None, initial={"kind": kind}, **_for_kind(request, compound, kind)
    )
    _kind_reloads_hospitals(request, form)
    if request.htmx and request.method == "GET":
        # The kind changed: only the hospitals that offer its service.
        return render(request, "medical/_hospital_field.html", {"form": form})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            escort = services.escort_book(by=request.user, **data)
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Escort booked."))
            return redirect("medical:escort", pk=escort.pk)
    return render(
        request,
        "medical/escort_form.html",
        {"form": form, "compound": compound},
        status=400 if request.method == "POST" else 200,
    )


def _escort(request: AuthedHttpRequest, pk: int) -> Escort:
    return get_visible_or_404(
        Escort.objects.select_related(
            "resident__household__building",
            "compound",
            "hospital",
            "ambulance",
            "staff",
            "schedule",
        ),
        request.user,
        pk=pk,
    )


@login_required
def escort_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    escort = _escort(request, pk)
    require(rules.may_see_escort(request.user, escort))
    may_organise = rules.may_organise(request.user)
    next_steps = rules.ESCORT.allowed(escort.status)
    assign = None
    if may_organise and escort.status in (EscortStatus.REQUESTED, EscortStatus.SCHEDULED):
        choices = _choices(request.user, escort.compound)
        assign = AssignForm(
            ambulances=choices["ambulances"],
            staff=choices["staff"],
            initial={"ambulance": escort.ambulance_id, "staff": escort.staff_id},
        )
    return render(
        request,
        "medical/escort_detail.html",
        {
            "escort": escort,
            "assign": assign,
            "may_move": rules.may_move(request.user, escort),
            "next_steps": [
                (s, EscortStatus(s).label)
                for s in next_steps
                if s not in (EscortStatus.SCHEDULED, EscortStatus.CANCELLED)
            ],
            "may_cancel": EscortStatus.CANCELLED in next_steps,
            "asks_outcome": any(
                s in (EscortStatus.RETURNED, EscortStatus.ADMITTED) for s in next_steps
            ),
            "may_call": bool(escort.resident.phone) and rules.may_move(request.user, escort),
            "steps": _steps_of(escort),
            "may_dispatch": escort.kind == EscortKind.EMERGENCY
            and escort.status == EscortStatus.REQUESTED
            and rules.may_report_emergency(request.user),
        },
    )


def _steps_of(escort: Escort) -> list[dict[str, Any]]:
    """The escort's steps with each actor's name as the accounts say it now (family name
    first; steps recorded before that was so carry the old spelling in by_name)."""
    steps = services.history(escort)
    ids = {s.get("by") for s in steps if s.get("by")}
    users = {u.pk: u.display_name for u in User.objects.filter(pk__in=ids)}
    return [
        {
            **s,
            "label": EscortStatus(s["status"]).label,
            "at": datetime.datetime.fromisoformat(s["at"]),
            "by_name": users.get(s.get("by"), s.get("by_name", "")),
        }
        for s in steps
    ]


@login_required
@require_POST
def escort_assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    escort = _escort(request, pk)
    require(rules.may_organise(request.user))
    choices = _choices(request.user, escort.compound)
    form = AssignForm(request.POST, ambulances=choices["ambulances"], staff=choices["staff"])
    if form.is_valid():
        try:
            services.escort_assign(by=request.user, escort=escort, **form.cleaned_data)
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(request, _("Ambulance assigned; the resident and crew are told."))
    else:
        messages.error(request, _("Choose the ambulance."))
    return redirect("medical:escort", pk=escort.pk)


@login_required
@require_POST
def escort_step(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    escort = _escort(request, pk)
    require(rules.may_move(request.user, escort))
    form = StepForm(request.POST)
    to = request.POST.get("to", "")
    if not to or to == "next":
        # From 今日任务: the escort's next step on the road.
        to = ROAD.get(escort.status, "")
    form.is_valid()
    try:
        escort = services.escort_advance(
            by=request.user,
            escort=escort,
            to=to,
            outcome=form.cleaned_data.get("outcome", "") if hasattr(form, "cleaned_data") else "",
        )
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(request, _("Now: %(status)s.") % {"status": escort.get_status_display()})
    if request.htmx and "task" in (request.GET.get("from"), request.POST.get("from")):
        return render(request, "volunteers/_task.html", {"t": plugins.task_of(escort)})
    return redirect("medical:escort", pk=escort.pk)


@login_required
@require_POST
def escort_call(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One tap from the job: the call is recorded and the phone dials the patient (the number
    appears nowhere on the page)."""
    escort = _escort(request, pk)
    require(rules.may_move(request.user, escort))
    phone = services.escort_call(by=request.user, escort=escort)
    response = HttpResponse(status=303)
    response["Location"] = "tel:" + phone.replace("-", "")
    return response


ROAD: dict[str, str] = {
    EscortStatus.SCHEDULED: EscortStatus.DISPATCHED,
    EscortStatus.DISPATCHED: EscortStatus.AT_HOSPITAL,
    EscortStatus.AT_HOSPITAL: EscortStatus.RETURNED,
}


# ----------------------------------------------------------------------------- schedules


@login_required
def schedules(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user))
    status = choice_param(request.GET, "status", ScheduleStatus.values) or ScheduleStatus.ACTIVE
    rows = Schedule.objects.visible_to(request.user).filter(status=status)
    resident = int_param(request.GET, "resident")
    if resident is not None:
        rows = rows.filter(resident_id=resident)
    rows = rows.select_related("resident", "compound", "hospital", "ambulance").order_by(
        "compound_id", "time", "pk"
    )
    page = CappedPaginator(rows, 50).get_page(int_param(request.GET, "page") or 1)
    return render(
        request,
        "medical/schedules.html",
        {
            "page": page,
            "status": status,
            "statuses": ScheduleStatus.choices,
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
def schedule_add(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_organise(request.user))
    compound = _compound_param(request)
    if compound is None:
        return render(
            request,
            "medical/pick_compound.html",
            {"compounds": _compounds(request), "next": reverse("medical:schedule_add")},
        )
    kind = _kind_of(request, EscortKind.DIALYSIS)
    form = ScheduleForm(
        request.POST or None,
        initial={"start_date": timezone.localdate(), "kind": kind},
        **_for_kind(request, compound, kind),
    )
    _kind_reloads_hospitals(request, form)
    if request.htmx and request.method == "GET":
        return render(request, "medical/_hospital_field.html", {"form": form})
    if request.method == "POST" and form.is_valid():
        try:
            services.schedule_save(by=request.user, **form.cleaned_data)
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(
                request, _("Schedule saved; its escorts are booked a week ahead, each once.")
            )
            if form.cleaned_data.get("ambulance") is None:
                messages.warning(request, MSG_NO_AMBULANCE)
            return redirect("medical:schedules")
    return render(
        request,
        "medical/schedule_form.html",
        {"form": form, "compound": compound},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def schedule_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    schedule = get_visible_or_404(
        Schedule.objects.select_related("compound"), request.user, pk=pk, may=rules.may_organise
    )
    if schedule.status == ScheduleStatus.ENDED:
        messages.error(request, _("An ended schedule stays ended; make a new one."))
        return redirect("medical:schedules")
    kind = _kind_of(request, schedule.kind)
    form = ScheduleForm(
        request.POST or None,
        initial={
            "resident": schedule.resident_id,
            "kind": kind,
            "weekdays": schedule.weekdays,
            "time": schedule.time,
            "duration_minutes": schedule.duration_minutes,
            "hospital": schedule.hospital_id,
            "ambulance": schedule.ambulance_id,
            "staff": schedule.staff_id,
            "start_date": schedule.start_date,
            "end_date": schedule.end_date,
            "notes": schedule.notes,
        },
        **_for_kind(request, schedule.compound, kind),
    )
    _kind_reloads_hospitals(request, form)
    if request.htmx and request.method == "GET":
        return render(request, "medical/_hospital_field.html", {"form": form})
    if request.method == "POST" and form.is_valid():
        try:
            services.schedule_save(by=request.user, schedule=schedule, **form.cleaned_data)
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Schedule changed; its coming escorts follow it."))
            if form.cleaned_data.get("ambulance") is None:
                messages.warning(request, MSG_NO_AMBULANCE)
            return redirect("medical:schedules")
    return render(
        request,
        "medical/schedule_form.html",
        {"form": form, "compound": schedule.compound, "schedule": schedule},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def schedule_status(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    schedule = get_visible_or_404(Schedule, request.user, pk=pk, may=rules.may_organise)
    form = ScheduleStatusForm(request.POST)
    if form.is_valid():
        try:
            services.schedule_set_status(
                by=request.user, schedule=schedule, status=form.cleaned_data["status"]
            )
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(
                request, _("Schedule: %(status)s.") % {"status": schedule.get_status_display()}
            )
    return redirect("medical:schedules")


# ----------------------------------------------------------------------------- emergencies


@login_required
def emergency(request: AuthedHttpRequest) -> HttpResponse:
    """The one-screen form: resident, what happened, time; dispatched on submit."""
    require(rules.may_report_emergency(request.user))
    compound = _compound_param(request)
    if compound is None:
        compounds = list(_compounds(request)[:2])
        if len(compounds) == 1:
            compound = compounds[0]
        else:
            return render(
                request,
                "medical/pick_compound.html",
                {"compounds": _compounds(request), "next": reverse("medical:emergency")},
            )
    form = EmergencyForm(
        request.POST or None,
        residents=_choices(request.user, compound)["residents"],
        compound_id=compound.pk,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            escort = services.emergency_report(
                by=request.user, resident=data["resident"], symptom=data["symptom"], at=data["at"]
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            if escort.ambulance_id:
                messages.success(
                    request,
                    _("Ambulance %(plate)s dispatched.") % {"plate": str(escort.ambulance)},
                )
            elif escort.scheduled_at < timezone.now() - rules.PAST_GRACE:
                messages.success(request, _("Emergency logged."))
            else:
                messages.error(request, _("No ambulance is free near this compound; call 120."))
            return redirect("medical:escort", pk=escort.pk)
    return render(
        request,
        "medical/emergency.html",
        {"form": form, "compound": compound},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def emergency_dispatch(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    escort = _escort(request, pk)
    require(rules.may_report_emergency(request.user))
    try:
        escort = services.emergency_dispatch(by=request.user, escort=escort)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(
            request, _("Ambulance %(plate)s dispatched.") % {"plate": str(escort.ambulance)}
        )
    return redirect("medical:escort", pk=escort.pk)


@login_required
def board(request: AuthedHttpRequest) -> HttpResponse:
    """Open emergencies of the user's area, refreshed by htmx every 15 seconds."""
    require(rules.may_read(request.user))
    context = {"rows": selectors.open_emergencies(user=request.user), "now": timezone.now()}
    if request.htmx or request.GET.get("partial"):
        return render(request, "medical/_board_rows.html", context)
    return render(request, "medical/board.html", context)


# ----------------------------------------------------------------------------- coverage, figures


@login_required
def coverage(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user))
    rows = selectors.coverage(user=request.user)
    attach_badges(request.user, rows, lambda row: row.compound)
    return render(
        request,
        "medical/coverage.html",
        {
            "rows": rows,
            "flagged": sum(r.flagged for r in rows),
            "minimum": selectors.MIN_AMBULANCES,
        },
    )


@login_required
def statistics(request: AuthedHttpRequest) -> HttpResponse | FileResponse:
    require(rules.may_read(request.user))
    today = timezone.localdate()
    start = date_param(request.GET, "start") or today - datetime.timedelta(days=6)
    end = date_param(request.GET, "end") or today
    if end < start:
        raise BadParameter(_("The end is before the start."), field="end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise BadParameter(_("Choose at most a year."), field="end")
    compound_status = choice_param(request.GET, "compound_status", ControlStatus.values)
    stats = selectors.statistics(
        user=request.user, start=start, end=end, compound_status=compound_status
    )
    if request.GET.get("format") == "xlsx":
        return _statistics_xlsx(stats)
    return render(
        request,
        "medical/statistics.html",
        {
            "stats": stats,
            "compound_status": compound_status,
            "statuses": ControlStatus.choices,
            "kind_rows": [(label, *stats.by_kind.get(kind, [0, 0])) for kind, label in stats.kinds],
            "compound_rows": [
                (compound, [counts.get(kind, 0) for kind, _label in stats.kinds], total)
                for compound, counts, total in stats.by_compound
            ],
        },
    )


def _statistics_xlsx(stats: selectors.Statistics) -> FileResponse:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    labels = [str(label) for _kind, label in stats.kinds]
    rows: list[list[Any]] = [[str(_("Compound")), *labels, str(_("Total"))]]
    for compound, counts, total in stats.by_compound:
        rows.append([compound.name, *[counts.get(k, 0) for k, _l in stats.kinds], total])
    rows.append([])
    rows.append([str(_("Day")), str(_("Emergencies")), str(_("Reached hospital"))])
    for day, n, reached in stats.emergencies_per_day:
        rows.append([day.isoformat(), n, reached])
    write_xlsx(spool, title=str(_("Escorts")), header=[f"{stats.start}–{stats.end}"], rows=rows)
    spool.seek(0)
    response = FileResponse(
        spool,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    days = f"{stats.start:%Y%m%d}-{stats.end:%Y%m%d}"
    # Translated outside the f-string: xgettext does not look inside one.
    title = _("Escort statistics")
    attach(response, f"{title}-{days}.xlsx", fallback=f"escorts-{days}.xlsx")
    return response


# ----------------------------------------------------------------------------- plugged in below
