"""Pages: the rounds, a round's coverage, a compound's doors and door-to-door list, the
sampler's phone page (a tube, then its people), the lab sheet's import, cases and contacts."""

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Compound, District
from compounds.registry import attach_badges
from residents.models import Household, Resident
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.localday import aware
from wuyi.lib.params import int_param, text_param
from wuyi.lib.qr import qr_svg
from wuyi.lib.spreadsheets import ImportFileError

from . import importing, rules, selectors, services
from .forms import (
    ContactForm,
    ExemptForm,
    ReportForm,
    RoundForm,
    ScanForm,
    SlotForm,
    TubeForm,
    UploadForm,
)
from .models import Quarantine, Sample, SamplingSlot, TestingRound, Tube, TubeStatus


def _round(request: AuthedHttpRequest, pk: int, **kw: Any) -> TestingRound:
    return get_visible_or_404(TestingRound, request.user, pk=pk, **kw)


def _compound(request: AuthedHttpRequest, cpk: int) -> Compound:
    return get_visible_or_404(Compound, request.user, pk=cpk)


@login_required
def index(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_sample(request.user))
    rounds = TestingRound.objects.visible_to(request.user).select_related("district")[:50]
    form = None
    if rules.may_organise(request.user):
        districts = list(District.objects.visible_to(request.user))
        next_number = selectors.next_round_number(districts[0]) if len(districts) == 1 else None
        form = RoundForm(request.POST or None, districts=districts, next_number=next_number)
        if request.method == "POST" and form.is_valid():
            try:
                created = services.round_open(
                    district_id=form.cleaned_data["district"],
                    number=form.cleaned_data["number"],
                    starts_on=form.cleaned_data["starts_on"],
                    ends_on=form.cleaned_data["ends_on"],
                    by=request.user,
                )
            except Refused as refused:
                add_to_form(form, refused)
            else:
                return redirect("screening:round", created.pk)
    elif request.method == "POST":
        require(False)
    return render(
        request,
        "screening/index.html",
        {"rounds": rounds, "form": form, "may_keep": rules.may_keep(request.user)},
    )


@login_required
def round_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    testing_round = _round(request, pk)
    require(rules.may_sample(request.user))
    total, rows = selectors.round_coverage(user=request.user, testing_round=testing_round)
    page = Paginator(rows, 50).get_page(int_param(request.GET, "page") or 1)
    attach_badges(request.user, page, lambda row: row.pk)
    return render(
        request,
        "screening/round.html",
        {
            "round": testing_round,
            "total": total,
            "page": page,
            "may_organise": rules.may_organise(request.user),
            "imports": testing_round.imports.all()[:10],
        },
    )


@login_required
@require_POST
def round_close(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    testing_round = _round(request, pk, may=rules.may_organise)
    try:
        services.round_close(round_id=testing_round.pk, by=request.user)
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect("screening:round", pk)


@login_required
def round_compound(request: AuthedHttpRequest, pk: int, cpk: int) -> HttpResponse:
    testing_round = _round(request, pk)
    compound = _compound(request, cpk)
    require(rules.may_keep(request.user))
    total, units, doors = selectors.compound_coverage(
        testing_round=testing_round, compound=compound
    )
    show = request.GET.get("show", "missing")
    if show == "missing":
        doors = [d for d in doors if d.missing]
    return render(
        request,
        "screening/compound.html",
        {
            "round": testing_round,
            "compound": compound,
            "total": total,
            "units": units,
            "doors": doors[:500],
            "show": show,
            "door_list": selectors.door_list(testing_round=testing_round, compound=compound),
            "slots": selectors.slots(testing_round=testing_round, compound=compound),
            "slot_form": SlotForm(buildings=compound.buildings.order_by("number")),
            "exempt_form": ExemptForm(),
            # One action: the compose page with the missing of this compound chosen.
            "text_missing": _text_missing_url(request, testing_round, compound, total.missing),
        },
    )


def _text_missing_url(
    request: AuthedHttpRequest, testing_round: TestingRound, compound: Compound, missing: int
) -> str:
    """The compose page with the audience "not yet sampled" of this round and compound chosen,
    for a user who sends campaigns, while someone is missing in a round in progress."""
    from messaging.rules import may_compose

    if not (missing and testing_round.status == "open" and may_compose(request.user)):
        return ""
    target = f"{testing_round.pk}:{compound.pk}"
    query = urlencode({"audience": "screening.missing", "t:screening.missing": target})
    return f"{reverse('messaging:compose')}?{query}"


@login_required
@require_POST
def slot_add(request: AuthedHttpRequest, pk: int, cpk: int) -> HttpResponse:
    testing_round = _round(request, pk)
    compound = _compound(request, cpk)
    require(rules.may_keep(request.user))
    form = SlotForm(request.POST, buildings=compound.buildings.all())
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.values()))
        return redirect("screening:compound", testing_round.pk, compound.pk)
    data = form.cleaned_data
    try:
        services.slot_add(
            round_id=testing_round.pk,
            compound_id=compound.pk,
            place=data["place"],
            starts_at=aware(data["day"], data["start"]),
            ends_at=aware(data["day"], data["end"]),
            building_ids=data["buildings"],
            by=request.user,
        )
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect(reverse("screening:compound", args=[testing_round.pk, compound.pk]) + "#slots")


@login_required
@require_POST
def slot_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    slot = get_visible_or_404(SamplingSlot, request.user, pk=pk)
    services.slot_remove(slot_id=slot.pk, by=request.user)
    return redirect(
        reverse("screening:compound", args=[slot.round_id, slot.compound_id]) + "#slots"
    )


@login_required
def door_list(request: AuthedHttpRequest, pk: int, cpk: int) -> HttpResponse:
    """The door-to-door list on paper (A4): who cannot come down and who owes a single-tube
    retest, door by door, with a box to tick and the time it was printed."""
    testing_round = _round(request, pk)
    compound = _compound(request, cpk)
    require(rules.may_keep(request.user))
    return render(
        request,
        "screening/door_list.html",
        {
            "round": testing_round,
            "compound": compound,
            "rows": selectors.door_list(testing_round=testing_round, compound=compound),
            "printed_at": timezone.localtime(),
        },
    )


@login_required
@require_POST
def exempt(request: AuthedHttpRequest, pk: int, cpk: int) -> HttpResponse:
    testing_round = _round(request, pk)
    compound = _compound(request, cpk)
    require(rules.may_keep(request.user))
    form = ExemptForm(request.POST)
    if form.is_valid():
        try:
            services.exemption_set(
                round_id=testing_round.pk,
                resident_id=form.cleaned_data["resident"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except Refused as refused:
            messages.error(request, str(refused))
        except Resident.DoesNotExist:
            messages.error(request, _("This person is not on the register (or has left it)."))
    else:
        messages.error(request, _("Choose the reason for the exemption."))
    return redirect("screening:compound", pk, compound.pk)


# ----------------------------------------------------------------------------- the sampler


@login_required
def sample(request: AuthedHttpRequest, pk: int, cpk: int) -> HttpResponse:
    """The sampler's phone page: scan a tube's barcode to start filling it."""
    testing_round = _round(request, pk)
    compound = _compound(request, cpk)
    require(rules.may_sample(request.user))
    form = TubeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tube = services.tube_open(
                round_id=testing_round.pk,
                compound_id=compound.pk,
                barcode=form.cleaned_data["barcode"],
                kind=form.cleaned_data["kind"],
                by=request.user,
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            return redirect("screening:tube", tube.pk)
    open_tubes = Tube.objects.filter(
        round=testing_round, compound=compound, status=TubeStatus.OPEN
    ).order_by("-opened_at")[:20]
    return render(
        request,
        "screening/sample.html",
        {
            "round": testing_round,
            "compound": compound,
            "form": form,
            "open_tubes": open_tubes,
            "door_list": selectors.door_list(testing_round=testing_round, compound=compound),
        },
    )


@login_required
def tube_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """A tube being filled: scan each person's code, or find the door and tap the name."""
    tube = get_visible_or_404(Tube.objects.select_related("round", "compound"), request.user, pk=pk)
    require(rules.may_sample(request.user))
    form = ScanForm(request.POST or None, initial={"key": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        try:
            added = services.sample_add(
                tube_id=tube.pk,
                key=form.cleaned_data["key"],
                code=form.cleaned_data["code"] or None,
                resident_id=form.cleaned_data["resident"],
                by=request.user,
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("%(name)s added.") % {"name": added.resident.name})
            return redirect("screening:tube", tube.pk)
    room = text_param(request.GET, "room", max_length=30)
    found: list[Resident] = []
    if room:
        households = Household.objects.filter(compound_id=tube.compound_id, room=room)
        found = list(
            Resident.objects.current()
            .filter(household__in=households)
            .select_related("household__building")[:30]
        )
    tube.refresh_from_db()
    return render(
        request,
        "screening/tube.html",
        {
            "tube": tube,
            "form": form if form.errors else ScanForm(initial={"key": uuid.uuid4().hex}),
            "samples": Sample.objects.filter(tube=tube).select_related("resident"),
            "room": room,
            "found": found,
            "new_key": uuid.uuid4().hex,
        },
    )


@login_required
@require_POST
def tube_close(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    tube = get_visible_or_404(Tube, request.user, pk=pk, may=rules.may_sample)
    try:
        services.tube_close(tube_id=tube.pk, by=request.user)
    except Refused as refused:
        messages.error(request, str(refused))
        return redirect("screening:tube", tube.pk)
    return redirect("screening:sample", tube.round_id, tube.compound_id)


@login_required
def door_cards(request: AuthedHttpRequest, cpk: int) -> HttpResponse:
    """An A4 door card per household: each resident's code as a QR (a signed, opaque token)."""
    compound = _compound(request, cpk)
    require(rules.may_keep(request.user))
    households = (
        Household.objects.filter(compound=compound)
        .select_related("building")
        .prefetch_related("residents")
        .order_by("building__number", "unit", "room")[:300]
    )
    slots = selectors.slots_by_building(compound)
    cards = [
        {
            "address": h.address,
            "slots": slots.get(h.building_id, []) + slots.get(None, []),
            "people": [
                {"name": r.name, "qr": qr_svg(rules.resident_code(r.pk), scale=3)}
                for r in h.residents.all()
                if r.left_on is None
            ],
        }
        for h in households
    ]
    return render(request, "screening/cards.html", {"compound": compound, "cards": cards})


# ----------------------------------------------------------------------------- results


def _spool_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "screening-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@login_required
def results_import(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Upload the lab's sheet, see what it would do, then commit it all or nothing."""
    testing_round = _round(request, pk, may=rules.may_organise)
    form = UploadForm(request.POST or None, request.FILES or None)
    plan = None
    token = ""
    spools = request.session.setdefault("screening_uploads", {})
    if request.method == "POST" and request.POST.get("token"):
        token = request.POST["token"]
        entry = spools.get(token)
        if entry is None:
            messages.error(request, _("The preview has expired: upload the sheet again."))
            return redirect("screening:import", pk)
        path = _spool_dir() / entry["file"]
        try:
            plan = importing.read_results(path, testing_round)
            record = services.results_commit(
                round_id=testing_round.pk, plan=plan, file_name=entry["name"], by=request.user
            )
        except Refused as refused:
            messages.error(request, refused.located())
            return redirect("screening:import", pk)
        finally:
            path.unlink(missing_ok=True)
            spools.pop(token, None)
            request.session.modified = True
        messages.success(
            request,
            _(
                "Results imported: %(matched)d of %(rows)d rows matched, %(pools)d positive "
                "pools, %(cases)d cases."
            )
            % {
                "matched": record.matched,
                "rows": record.rows,
                "pools": record.positive_pools,
                "cases": record.cases,
            },
        )
        return redirect("screening:round", pk)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()[:5]}"
        path = _spool_dir() / name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            plan = importing.read_results(path, testing_round)
        except ImportFileError as refused:
            path.unlink(missing_ok=True)
            form.add_error("file", str(refused))
            plan = None
        else:
            if plan.errors:
                path.unlink(missing_ok=True)
            else:
                token = uuid.uuid4().hex
                spools[token] = {"file": name, "name": upload.name[:200]}
                request.session.modified = True
    return render(
        request,
        "screening/import.html",
        {"round": testing_round, "form": form, "plan": plan, "token": token},
    )


# ----------------------------------------------------------------------------- cases


@login_required
def cases(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_sample(request.user))
    today = timezone.localdate()
    return render(
        request,
        "screening/cases.html",
        {
            "quarantines": selectors.quarantines(request.user)[:300],
            "overdue": selectors.overdue(request.user, day=today),
            "controlled": selectors.controlled_households(request.user)[:300],
            "today": today,
        },
    )


@login_required
def case_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    q = get_visible_or_404(
        Quarantine.objects.select_related("resident__household__building", "compound", "source"),
        request.user,
        pk=pk,
    )
    require(rules.may_sample(request.user))
    may_keep = rules.may_keep(request.user)
    contact_form = None
    if may_keep and q.released_at is None and q.kind != "secondary":
        residents = (
            Resident.objects.current()
            .filter(compound_id=q.compound_id)
            .exclude(pk=q.resident_id)
            .select_related("household__building")
            .order_by("household__building__number", "household__room")[:500]
        )
        contact_form = ContactForm(request.POST or None, residents=residents)
        if request.method == "POST" and contact_form.is_valid():
            data = contact_form.cleaned_data
            try:
                services.contact_add(
                    source_id=q.pk,
                    resident_id=data["resident"],
                    kind=data["kind"],
                    place=data["place"],
                    starts_on=data["starts_on"],
                    days=data["days"],
                    by=request.user,
                )
            except Refused as refused:
                add_to_form(contact_form, refused)
            else:
                return redirect("screening:case", q.pk)
    elif request.method == "POST":
        require(False)
    return render(
        request,
        "screening/case.html",
        {
            "q": q,
            "contacts": q.contacts.select_related("resident").all(),
            "reports": q.reports.all()[:30],
            "contact_form": contact_form,
            "report_form": ReportForm(),
            "may_keep": may_keep,
        },
    )


@login_required
@require_POST
def health_report(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    q = get_visible_or_404(Quarantine, request.user, pk=pk, may=rules.may_report_health)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            services.health_report_add(
                quarantine_id=q.pk,
                temperature=form.cleaned_data["temperature"],
                symptoms=form.cleaned_data["symptoms"],
                by=request.user,
            )
        except Refused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("Health report saved."))
    else:
        messages.error(request, _("Write the temperature as 36.5."))
    return redirect("screening:case", q.pk)


@login_required
@require_POST
def release(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    q = get_visible_or_404(Quarantine, request.user, pk=pk, may=rules.may_keep)
    services.quarantine_release(quarantine_id=q.pk, by=request.user)
    messages.success(request, _("Released."))
    return redirect("screening:case", q.pk)
