"""Pages: the cleaner's scan page, the secretary's roster, areas, QR sheets and waste log, and
the completion table district staff read worst first."""

import datetime
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Building, Compound
from compounds.registry import attach_badges
from volunteers.models import Team, Volunteer
from wuyi.lib import photos
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import date_param, int_param
from wuyi.lib.public import is_local, public_url

from . import rules, selectors, services
from .forms import AreaForm, DoneForm, ReassignForm, RoundAddForm, WasteForm
from .models import Area, AreaKind, Round, WasteRecord


def _day(request: AuthedHttpRequest, name: str = "date") -> datetime.date:
    return date_param(request.GET, name) or timezone.localdate()


def _compound(request: AuthedHttpRequest, pk: int, *, organise: bool = False) -> Compound:
    return get_visible_or_404(
        Compound.objects.select_related("community"),
        request.user,
        pk=pk,
        may=rules.may_organise if organise else None,
    )


def _cleaners(compound: Compound):
    """Volunteers whose teams serve the compound: who a round may be given to."""
    return (
        Volunteer.objects.filter(memberships__team__compounds=compound).distinct().order_by("name")
    )


# ----------------------------------------------------------------------------- overview


@login_required
def overview(request: AuthedHttpRequest) -> HttpResponse:
    """Completion of the day per community and per compound, worst first."""
    require(rules.may_read_rates(request.user), _("Cleaners see their rounds under Today."))
    day = _day(request)
    compounds = selectors.compound_progress(user=request.user, day=day)
    communities = selectors.community_progress(compounds)
    total = selectors.Progress()
    for p in compounds:
        total.add(p)
    page = Paginator(compounds, 50).get_page(int_param(request.GET, "page") or 1)
    attach_badges(request.user, page, lambda p: p.place)
    return render(
        request,
        "sanitation/overview.html",
        {
            "day": day,
            "today": timezone.localdate(),
            "total": total,
            "communities": communities,
            "page": page,
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
def week(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read_rates(request.user))
    last = _day(request, "end")
    days, rows = selectors.week_rates(user=request.user, last=last)
    page = Paginator(rows, 50).get_page(int_param(request.GET, "page") or 1)
    attach_badges(request.user, page, lambda row: row.compound)
    return render(
        request,
        "sanitation/week.html",
        {
            "days": days,
            "page": page,
            "last": last,
            "previous": last - datetime.timedelta(days=7),
            "next": last + datetime.timedelta(days=7),
        },
    )


# ----------------------------------------------------------------------------- a compound's day


@login_required
def compound_day(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = _compound(request, pk)
    day = _day(request)
    rounds = selectors.compound_day(compound=compound, day=day)
    may = rules.may_organise(request.user)
    progress = selectors.Progress()
    now = timezone.now()
    for r in rounds:
        progress.total += 1
        progress.done += r.done
        progress.late += r.timing == "late"
        progress.overdue += r.overdue(now)
        progress.started += r.due_at <= now
    by_area: dict[Area, list[Round]] = {}
    for r in rounds:
        by_area.setdefault(r.area, []).append(r)
    cleaners = _cleaners(compound) if may else None
    return render(
        request,
        "sanitation/compound_day.html",
        {
            "compound": compound,
            "day": day,
            "today": timezone.localdate(),
            "by_area": by_area,
            "progress": progress,
            "now": now,
            "may_organise": may,
            "needs_roster": compound.status in rules.roster_statuses(),
            "add_form": RoundAddForm(
                areas=Area.objects.filter(compound=compound, active=True),
                cleaners=cleaners,
                initial={"at": timezone.localtime().strftime("%H:%M")},
            )
            if may
            else None,
            "has_areas": Area.objects.filter(compound=compound).exists(),
        },
    )


@login_required
@require_POST
def generate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Generate now: the compound's rounds for the day, each once."""
    compound = _compound(request, pk, organise=True)
    day = date_param(request.POST, "date") or timezone.localdate()
    try:
        result = services.rosters_generate(day=day, compounds=[compound.pk], any_status=True)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        messages.success(
            request,
            _("%(created)d rounds created, %(existed)d already existed.")
            % {"created": result.created, "existed": result.existed},
        )
    return redirect(f"{reverse('sanitation:compound', args=[compound.pk])}?date={day}")


@login_required
@require_POST
def round_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = _compound(request, pk, organise=True)
    day = date_param(request.POST, "date") or timezone.localdate()
    form = RoundAddForm(
        request.POST,
        areas=Area.objects.filter(compound=compound, active=True),
        cleaners=_cleaners(compound),
    )
    if form.is_valid():
        try:
            services.round_add(by=request.user, day=day, **form.cleaned_data)
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(request, _("Round added."))
    else:
        messages.error(request, _("Choose an area and give a time."))
    return redirect(f"{reverse('sanitation:compound', args=[compound.pk])}?date={day}")


@login_required
def round_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    round = get_visible_or_404(
        Round.objects.select_related("area", "compound", "assignee", "done_by"),
        request.user,
        pk=pk,
    )
    may = rules.may_organise(request.user)
    now = timezone.now()
    try:
        rules.check_round_day(round, now)
        of_today = True
    except Refused:
        of_today = False
    return render(
        request,
        "sanitation/round_detail.html",
        {
            "round": round,
            "now": now,
            "may_organise": may,
            "may_do": rules.may_do(request.user, round),
            "may_override": rules.may_override(request.user) and of_today,
            "of_today": of_today,
            "form": ReassignForm(
                initial={"assignee": round.assignee_id}, cleaners=_cleaners(round.compound)
            )
            if may
            else None,
        },
    )


@login_required
@require_POST
def round_assign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    round = get_visible_or_404(
        Round.objects.select_related("compound", "area"),
        request.user,
        pk=pk,
        may=rules.may_organise,
    )
    form = ReassignForm(request.POST, cleaners=_cleaners(round.compound))
    if form.is_valid():
        try:
            services.round_reassign(
                by=request.user, round=round, assignee=form.cleaned_data["assignee"]
            )
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(request, _("Reassigned."))
            day = reverse("sanitation:compound", args=[round.compound_id])
            return redirect(f"{day}?date={round.date}")
    else:
        messages.error(request, _("Choose a cleaner of this compound."))
    return redirect("sanitation:round", pk=round.pk)


# ----------------------------------------------------------------------------- areas, QR


@login_required
def areas(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = _compound(request, pk)
    area_list = sorted(
        Area.objects.filter(compound=compound).select_related("building", "team"),
        key=selectors.area_order,
    )
    return render(
        request,
        "sanitation/areas.html",
        {
            "compound": compound,
            "areas": area_list,
            "may_organise": rules.may_organise(request.user),
        },
    )


@login_required
@require_POST
def areas_defaults(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    compound = _compound(request, pk, organise=True)
    created, existed = services.areas_create_defaults(by=request.user, compound=compound)
    messages.success(
        request,
        _("%(created)d areas created from the buildings, %(existed)d already existed.")
        % {"created": created, "existed": existed},
    )
    return redirect("sanitation:areas", pk=compound.pk)


@login_required
def area_edit(request: AuthedHttpRequest, pk: int, area_pk: int | None = None) -> HttpResponse:
    compound = _compound(request, pk, organise=True)
    area = (
        get_visible_or_404(Area, request.user, pk=area_pk, compound=compound) if area_pk else None
    )
    form = AreaForm(
        request.POST or None,
        initial=AreaForm.initial_of(area) if area else {"window_minutes": 60, "active": True},
        buildings=Building.objects.filter(compound=compound).order_by("number"),
        teams=Team.objects.filter(community_id=compound.community_id).order_by("name"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            area = services.area_save(
                by=request.user, compound=compound, area=area, **form.cleaned_data
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": area.name})
            return redirect("sanitation:areas", pk=compound.pk)
    return render(
        request,
        "sanitation/area_form.html",
        {"form": form, "compound": compound, "area": area},
        status=400 if request.method == "POST" else 200,
    )


def qr_svg(url: str) -> SafeString:
    """The QR code of a URL as inline SVG (segno draws it; no script, no external file)."""
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup around a URL we built


@login_required
def qr_sheets(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """A4 sheets to print and stick next to each area: one area per page, each code signed for
    its area (rules.qr_token); the secretary replaces a code here, voiding its sheet."""
    compound = _compound(request, pk)
    area_list = Area.objects.filter(compound=compound, active=True)
    only = int_param(request.GET, "area")
    if only is not None:
        area_list = area_list.filter(pk=only)
    sheets = [
        (
            area,
            qr_svg(public_url(request, reverse("sanitation:scan", args=[rules.qr_token(area)]))),
        )
        for area in sorted(area_list, key=selectors.area_order)
    ]
    if only is not None and not sheets:
        raise Http404
    return render(
        request,
        "sanitation/qr_sheets.html",
        {
            "compound": compound,
            "sheets": sheets,
            "may_organise": rules.may_organise(request.user),
            "site": public_url(request, "/"),
            "local_address": is_local(public_url(request, "/")),
        },
    )


@login_required
@require_POST
def qr_rotate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Replace an area's code (or every code of the compound): the printed sheets stop
    working."""
    compound = _compound(request, pk, organise=True)
    only = int_param(request.POST, "area")
    areas = Area.objects.filter(compound=compound)
    if only is not None:
        areas = areas.filter(pk=only)
    replaced = [services.area_qr_rotate(by=request.user, area=area) for area in areas]
    if only is not None and not replaced:
        raise Http404
    messages.success(
        request,
        _("%(count)d codes replaced: print the new sheets and put them up in place of the old.")
        % {"count": len(replaced)},
    )
    url = reverse("sanitation:qr", args=[compound.pk])
    return redirect(f"{url}?area={only}" if only is not None else url)


# ----------------------------------------------------------------------------- the cleaner


def _refused_code(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "sanitation/qr_refused.html", status=410)


@login_required
def scan(request: AuthedHttpRequest, token: str) -> HttpResponse:
    """What the QR code next to an area opens: its current round, one tap from done (the
    form carries the code back as the proof). A code outside the user's reach, or none of
    the project's, is a 404; a replaced one answers that its sheet no longer works."""
    parsed = rules.qr_parse(token)
    if parsed is None:
        raise Http404
    area = get_visible_or_404(Area.objects.select_related("compound"), request.user, pk=parsed[0])
    if not rules.qr_matches(area, token):
        return _refused_code(request)
    now = timezone.now()
    current = services.current_round(area, now)
    today = selectors.area_rounds(area, timezone.localdate(now)).select_related(
        "assignee", "done_by"
    )
    return render(
        request,
        "sanitation/scan.html",
        {
            "area": area,
            "current": current,
            "rounds": list(today),
            "form": DoneForm(),
            "now": now,
            "qr": token,
        },
    )


@login_required
def scan_retired(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The codes printed before they were signed (/sanitation/a/<id>/) prove nothing: they
    answer that the sheet must be replaced, whatever the id."""
    return _refused_code(request)


@login_required
@require_POST
@photos.accepts_photo
def round_done(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Mark a round done: from the scan page, with the code it was opened by (and an optional
    photo), or, by the secretary without the code, from the round's page with a reason."""
    round = get_visible_or_404(
        Round.objects.select_related("area", "compound"), request.user, pk=pk
    )
    form = DoneForm(request.POST, request.FILES)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    qr = str(request.POST.get("qr", ""))[:500]
    try:
        round = services.round_mark_done(
            by=request.user,
            round=round,
            qr=qr,
            override_reason=data.get("override_reason", ""),
            photo=data.get("photo"),
            note=data.get("note", ""),
        )
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        if round.timing == "late":
            messages.warning(request, _("Done, recorded as late."))
        elif round.timing == "early":
            messages.warning(request, _("Done, recorded as early."))
        else:
            messages.success(request, _("Done. Thank you."))
    if request.POST.get("next") != "round" and rules.qr_matches(round.area, qr):
        return redirect("sanitation:scan", token=qr)
    return redirect("sanitation:round", pk=round.pk)


@login_required
def round_photo(request: AuthedHttpRequest, pk: int) -> FileResponse:
    round = get_visible_or_404(Round, request.user, pk=pk)
    if not round.photo:
        raise Http404
    extension = str(round.photo.name).rsplit(".", 1)[-1]
    kind = photos.PHOTO_TYPES.get(extension, "application/octet-stream")
    response = FileResponse(round.photo.open("rb"), content_type=kind)
    response["Cache-Control"] = "private, no-store"
    return response


# ----------------------------------------------------------------------------- medical waste


@login_required
def waste(request: AuthedHttpRequest) -> HttpResponse:
    day = _day(request)
    compound = None
    compound_id = int_param(request.GET, "compound")
    if compound_id is not None:
        compound = _compound(request, compound_id)
    bins = selectors.waste_bins(user=request.user, day=day, compound=compound)
    page = CappedPaginator(bins, 50).get_page(int_param(request.GET, "page") or 1)
    records = selectors.waste_records(list(page.object_list), day)
    rows = [(b, records.get(b.pk)) for b in page.object_list]
    return render(
        request,
        "sanitation/waste.html",
        {
            "day": day,
            "today": timezone.localdate(),
            "compound": compound,
            "page": page,
            "rows": rows,
            "not_cleared": bins.filter(cleared_today=False).count(),
            "may_read_rates": rules.may_read_rates(request.user),
        },
    )


@login_required
def waste_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The day's record of one bin (a cleaner or the secretary fills it in)."""
    area = get_visible_or_404(
        Area.objects.select_related("compound"), request.user, pk=pk, kind=AreaKind.MEDICAL_WASTE
    )
    day = _day(request)
    record = WasteRecord.objects.filter(area=area, date=day).first()
    initial: dict[str, Any] = {"bags": 0}
    if record is not None:
        initial = {
            "bags": record.bags,
            "weight_kg": record.weight_kg,
            "handed_to": record.handed_to,
            "handed_at": timezone.localtime(record.handed_at).time() if record.handed_at else None,
            "cleared": record.cleared,
            "note": record.note,
        }
    form = WasteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["handed_at"] = form.handed_at_on(day)
        try:
            services.waste_record_save(by=request.user, area=area, day=day, **data)
        except Refused as refused:
            add_to_form(form, refused)
        except PermissionDenied:
            raise
        else:
            messages.success(request, _("Saved the log of %(bin)s.") % {"bin": area.name})
            return redirect(f"{reverse('sanitation:waste')}?date={day}&compound={area.compound_id}")
    return render(
        request,
        "sanitation/waste_form.html",
        {"form": form, "area": area, "day": day, "record": record},
        status=400 if request.method == "POST" else 200,
    )
