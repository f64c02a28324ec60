import functools
import tempfile
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from accounts.models import Level
from compounds.models import Building, Community, Compound
from compounds.selectors import place_of_user
from wuyi.lib.downloads import attach
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import choice_param, int_param, text_param
from wuyi.lib.urls import reverser

from . import registry, selectors, services, tasks
from .forms import (
    FullExportForm,
    HouseholdForm,
    ImportForm,
    LeaveForm,
    MergeForm,
    ResidentForm,
    TagForm,
)
from .models import Category, Household, ImportJob, Resident, VulnerableTag
from .rules import (
    may_call,
    may_call_resident,
    may_edit_register,
    may_export_register,
    may_read_ledger,
    may_read_register,
    may_see_full_personal_data,
)

PAGE_SIZE = 50
LEDGER_PAGE_SIZE = 100


def only_for(may: Callable[[Any], bool]):
    """The page exists only for the roles `may` admits: anyone else gets the 404 of a page
    outside their reach, whatever the method (a volunteer's residents are their tasks')."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            require(may(request.user), hide=True)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


register_page = only_for(may_read_register)


def _filters(params) -> dict:
    """The list's filters from a query (or a form posting the same fields)."""
    return {
        "q": text_param(params, "q", max_length=60),
        "compound": int_param(params, "compound"),
        "category": choice_param(params, "category", Category.values),
    }


@login_required
@register_page
def resident_list(request: AuthedHttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    refused = None
    try:
        residents = selectors.resident_search(
            user=request.user,
            query=filters["q"],
            compound_id=filters["compound"],
            category=filters["category"],
        )
    except Refused as refusal:  # a search this role may not make: say so beside the form
        refused, residents = refusal, Resident.objects.none()
    page = CappedPaginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_marks(list(page.object_list))
    context = {
        "refused": refused,
        "page": page,
        "filters": filters,
        "compounds": Compound.objects.visible_to(request.user).order_by("name"),
        "categories": Category.choices,
        "may_edit": may_edit_register(request.user),
        "may_full": may_see_full_personal_data(request.user),
        "may_call": may_call(request.user),
        "querystring": request.GET.urlencode(),
    }
    template = "residents/_resident_rows.html" if request.htmx else "residents/resident_list.html"
    return render(request, template, context)


def _with_marks(residents: list[Resident]) -> list[Resident]:
    """Each resident's marks kept by other apps (screening's quarantine and temporary
    control), as `marks`: one registry call for the list. And each row's links, as
    `links`, each pattern reversed once (wuyi.lib.urls.reverser)."""
    marks = registry.marks_on([r.pk for r in residents], timezone.localdate())
    detail, household, call = (
        reverser(name) for name in ("residents:detail", "residents:household", "residents:call")
    )
    for r in residents:
        r.marks = marks.get(r.pk, [])  # type: ignore[attr-defined]
        r.links = {  # type: ignore[attr-defined]
            "detail": detail(r.pk),
            "household": household(r.household_id),
            "call": call(r.pk),
        }
    return residents


@login_required
@register_page
def resident_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(
        Resident.objects.select_related("household__building", "compound__community"),
        request.user,
        pk=pk,
    )
    history = resident.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "residents/resident_detail.html",
        {
            "resident": resident,
            "tags": resident.tags.order_by("category"),
            "links": registry.links_for(request.user, [resident.pk]).get(resident.pk, []),
            "marks": _with_marks([resident])[0].marks,  # type: ignore[attr-defined]
            "history": history,
            "may_edit": may_edit_register(request.user),
            "may_full": may_see_full_personal_data(request.user),
            "tag_form": TagForm(),
            "leave_form": LeaveForm(),
        },
    )


@login_required
@register_page
@require_POST
def resident_reveal(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(Resident, request.user, pk=pk)
    full = services.resident_reveal(by=request.user, resident=resident)
    if request.POST.get("into") == "form":  # the edit form's phone field, filled in
        return render(request, "residents/_phone_input.html", {"phone": full["phone"]})
    return render(request, "residents/_revealed.html", {"resident": resident, "full": full})


@login_required
@require_POST
def resident_call(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One tap: the call is recorded and the phone dials (a tel: link the phone opens). The
    number appears nowhere on the page."""
    resident = get_visible_or_404(Resident, request.user, pk=pk, may=may_call)
    require(
        may_call_resident(request.user, resident), hide=True
    )  # a volunteer calls only the households of their tasks
    phone = services.resident_call(by=request.user, resident=resident)
    response = HttpResponse(status=303)
    response["Location"] = "tel:" + phone.replace("-", "")
    return response


def _resident_form_page(request, *, household: Household, resident: Resident | None):
    initial = {}
    masked_phone = ""
    with_id = resident is not None and bool(resident.id_cipher)
    if resident is not None:
        initial = {field: getattr(resident, field) for field in Resident.RECORD_FIELDS}
        # The form shows what the pages show: the phone masked until the user reveals it
        # (recorded) or types a new one; no birth date beside a registered ID number.
        masked_phone = initial["phone"] = resident.masked_phone
        if with_id:
            initial.pop("birth_date")
    form = ResidentForm(
        request.POST or None, initial=initial, masked_phone=masked_phone, with_id=with_id
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not ResidentForm.KEEP}
        national_id = data.pop("national_id")
        if resident is not None and not national_id:
            national_id = None  # left blank on edit: keep the registered number
        try:
            saved = services.resident_save(
                by=request.user,
                household=household,
                data=data,
                national_id=national_id,
                resident=resident,
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": saved.name})
            return redirect("residents:detail", pk=saved.pk)
    return render(
        request,
        "residents/resident_form.html",
        {
            "form": form,
            "household": household,
            "resident": resident,
            "may_full": may_see_full_personal_data(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@register_page
def resident_create(request: AuthedHttpRequest, household_pk: int) -> HttpResponse:
    household = get_visible_or_404(
        Household.objects.select_related("building"),
        request.user,
        pk=household_pk,
        may=may_edit_register,
    )
    return _resident_form_page(request, household=household, resident=None)


@login_required
@register_page
def resident_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(
        Resident.objects.select_related("household__building"),
        request.user,
        pk=pk,
        may=may_edit_register,
    )
    return _resident_form_page(request, household=resident.household, resident=resident)


@login_required
@register_page
@require_POST
def resident_leave(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(Resident, request.user, pk=pk, may=may_edit_register)
    form = LeaveForm(request.POST)
    if form.is_valid():
        try:
            services.resident_leave(by=request.user, resident=resident, **form.cleaned_data)
        except Refused as refused:
            messages.error(request, str(refused.message))
        else:
            messages.success(
                request, _("%(name)s has left the register.") % {"name": resident.name}
            )
            return redirect("residents:household", pk=resident.household_id)
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("residents:detail", pk=resident.pk)


@login_required
@register_page
@require_POST
def tag_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    resident = get_visible_or_404(Resident, request.user, pk=pk, may=may_edit_register)
    form = TagForm(request.POST)
    if form.is_valid():
        services.resident_tag_set(by=request.user, resident=resident, **form.cleaned_data)
        messages.success(request, _("Added to the vulnerable-person ledger."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("residents:detail", pk=resident.pk)


@login_required
@register_page
@require_POST
def tag_remove(request: AuthedHttpRequest, pk: int, tag_pk: int) -> HttpResponse:
    tag = get_visible_or_404(
        VulnerableTag, request.user, pk=tag_pk, resident_id=pk, may=may_edit_register
    )
    services.resident_tag_remove(by=request.user, tag=tag)
    messages.success(request, _("Removed from the vulnerable-person ledger."))
    return redirect("residents:detail", pk=pk)


@login_required
@register_page
def household_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        household = selectors.household_detail(user=request.user, household_id=pk)
    except Household.DoesNotExist:
        raise Http404 from None
    may_edit = may_edit_register(request.user)
    merge_form = None
    if may_edit:
        merge_form = MergeForm(households=_merge_targets(request.user, household))
    return render(
        request,
        "residents/household_detail.html",
        {
            "household": household,
            "residents": _with_marks(list(household.residents.all())),
            "may_edit": may_edit,
            "merge_form": merge_form,
            "may_call": may_call(request.user),
            **selectors.household_link_state(household_id=household.pk),
        },
    )


def _merge_targets(user, household: Household):
    return (
        Household.objects.visible_to(user)
        .filter(compound_id=household.compound_id)
        .exclude(pk=household.pk)
        .select_related("building")
        .order_by("building__number", "unit", "room")
    )


@login_required
@register_page
def household_add(request: AuthedHttpRequest) -> HttpResponse:
    require(may_edit_register(request.user))
    buildings = (
        Building.objects.visible_to(request.user)
        .select_related("compound")
        .order_by("compound__name", "number")
    )
    form = HouseholdForm(
        request.POST or None,
        buildings=buildings,
        initial={"building": int_param(request.GET, "building")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            household = services.household_save(by=request.user, **form.cleaned_data)
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Added %(address)s.") % {"address": household.address})
            return redirect("residents:household", pk=household.pk)
    return render(
        request,
        "residents/household_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@register_page
@require_POST
def household_merge(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    household = get_visible_or_404(
        Household.objects.select_related("building"), request.user, pk=pk, may=may_edit_register
    )
    form = MergeForm(request.POST, households=_merge_targets(request.user, household))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("residents:household", pk=household.pk)
    target = services.household_merge(
        by=request.user, source=household, target=form.cleaned_data["target"]
    )
    messages.success(request, _("Merged into %(address)s.") % {"address": target.address})
    return redirect("residents:household", pk=target.pk)


@login_required
@register_page
def building_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        building, units = selectors.building_register(user=request.user, building_id=pk)
    except Building.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "residents/building_detail.html",
        {"building": building, "units": units, "may_edit": may_edit_register(request.user)},
    )


@login_required
@only_for(may_read_ledger)
def ledger(request: AuthedHttpRequest) -> HttpResponse:
    filters = _filters(request.GET)
    lines = selectors.vulnerable_ledger(
        user=request.user, category=filters["category"], compound_id=filters["compound"]
    )
    # 100 lines a page: a phone on a poor network gets the first hundred in a few KB.
    page = Paginator(lines, LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    # What other apps link to each line (a recurring escort): one call for the page.
    page.object_list = list(page.object_list)
    ids = [tag.resident_id for tag in page.object_list]
    links = registry.links_for(request.user, ids)
    # 今日已服务: every app's contacts with these residents today (a check, a delivery).
    served = registry.contacts_on(ids, timezone.localdate())
    for tag in page.object_list:
        tag.links = links.get(tag.resident_id, [])  # type: ignore[attr-defined]
        tag.served = served.get(tag.resident_id, [])  # type: ignore[attr-defined]
    return render(
        request,
        "residents/ledger.html",
        {
            "page": page,
            "filters": filters,
            "compounds": Compound.objects.visible_to(request.user).order_by("name"),
            "categories": Category.choices,
            "printed_at": timezone.localtime(),
            "may_call": may_call(request.user),
            "may_open": may_read_register(request.user),  # the medic's ledger stops here
        },
    )


@login_required
@only_for(may_export_register)
def export(request: AuthedHttpRequest) -> FileResponse:
    """The list as the user filtered it, masked. (The full list asks for a purpose first:
    export_full.)"""
    filters = _filters(request.GET)
    if choice_param(request.GET, "full", ["0", "1"]) == "1":
        raise Refused(
            _(
                "An export with full numbers needs its purpose: use “Export with full "
                "numbers” on the resident list."
            )
        )
    return _export(request, filters, purpose="")


@login_required
@only_for(may_export_register)
def export_full(request: AuthedHttpRequest) -> HttpResponse | FileResponse:
    """The list with full ID numbers and phones: the user says why and confirms, and the
    purpose is kept in the personal-data log."""
    require(may_see_full_personal_data(request.user))
    filters = _filters(request.POST if request.method == "POST" else request.GET)
    form = FullExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _export(request, filters, purpose=form.cleaned_data["purpose"])
    return render(
        request,
        "residents/export_full.html",
        {"form": form, "filters": filters},
        status=400 if request.method == "POST" else 200,
    )


def _export(request: AuthedHttpRequest, filters: dict, *, purpose: str) -> FileResponse:
    compound = None
    if filters["compound"] is not None:
        compound = get_visible_or_404(Compound, request.user, pk=filters["compound"])
    residents = selectors.resident_search(
        user=request.user,
        query=filters["q"],
        compound_id=filters["compound"],
        category=filters["category"],
    )
    # The workbook is written to a temporary file row by row and streamed from there: memory
    # stays flat whatever the count. The file is gone when the response is closed.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    services.residents_export_xlsx(
        by=request.user,
        residents=residents,
        full=bool(purpose),
        filters=filters,
        fh=spool,
        compound_id=filters["compound"],
        purpose=purpose,
    )
    spool.seek(0)
    # "天庆社区-居民名单-脱敏-20261201.xlsx": what it is, whose, masked or full, when.
    one = place_of_user(request.user)
    place = compound.name if compound else (one.name if one else "")
    kind = _("full") if purpose else _("masked")
    parts = [place, _("resident list"), kind, timezone.localdate().strftime("%Y%m%d")]
    response = FileResponse(
        spool,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    fallback = f"residents-{'full' if purpose else 'masked'}-{parts[-1]}.xlsx"
    attach(response, "-".join(str(p) for p in parts if p) + ".xlsx", fallback=fallback)
    return response


# ----------------------------------------------------------------------------- import


def _import_community(user, compound: Compound | None) -> Community | None:
    if compound is not None:
        return compound.community
    return cast(Community | None, place_of_user(user, level=Level.COMMUNITY))


@login_required
@register_page
def import_start(request: AuthedHttpRequest) -> HttpResponse:
    require(may_edit_register(request.user))
    compounds = Compound.objects.visible_to(request.user).order_by("name")
    form = ImportForm(request.POST or None, request.FILES or None, compounds=compounds)
    if request.method == "POST" and form.is_valid():
        compound = form.cleaned_data["compound"]
        community = _import_community(request.user, compound)
        if community is None:
            form.add_error("compound", _("Choose the compound."))
        else:
            try:
                job = services.import_job_create(
                    by=request.user,
                    community=community,
                    compound=compound,
                    upload=form.cleaned_data["file"],
                )
            except services.ImportRefused as refused:
                form.add_error("file", refused.message)
            else:
                if job.size > settings.WUYI_IMPORT_BACKGROUND_BYTES:
                    transaction.on_commit(lambda: tasks.import_check.delay(job.pk))
                else:
                    services.import_job_check(job_id=job.pk)
                return redirect("residents:import_job", pk=job.pk)
    return render(
        request,
        "residents/import_start.html",
        {
            "form": form,
            "recent": ImportJob.objects.visible_to(request.user).select_related("user")[:10],
            "max_mb": settings.WUYI_IMPORT_MAX_BYTES // (1024 * 1024),
        },
        status=400 if request.method == "POST" else 200,
    )


def _job_context(request, job: ImportJob) -> dict:
    if job.state in ImportJob.RUNNING and services.import_jobs_expire(job_ids=[job.pk]):
        job.refresh_from_db()  # its worker died: the page says so and offers the retry
    running = job.state in ImportJob.RUNNING
    done = cache.get(services.progress_key(job.pk), 0) if running else job.progress
    total = job.total or job.report.get("total_rows") or 0
    percent = min(99, int(done * 100 / total)) if running and total else (0 if running else 100)
    return {
        "job": job,
        "running": running,
        "done": done,
        "percent": percent,
        "report": job.report,
        "categories": Category.choices,
        "perms_edit": may_edit_register(request.user),
    }


@login_required
@register_page
def import_job(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = get_visible_or_404(ImportJob, request.user, pk=pk)
    context = _job_context(request, job)
    if request.htmx:
        return render(request, "residents/_import_status.html", context)
    return render(request, "residents/import_job.html", context)


@login_required
@register_page
@require_POST
def import_map(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Category words mapped on the preview: remembered for the community, list checked again."""
    job = get_visible_or_404(ImportJob, request.user, pk=pk, may=may_edit_register)
    words = {
        key.removeprefix("word:"): str(value)
        for key, value in request.POST.items()
        if key.startswith("word:")
    }
    try:
        services.category_words_map(by=request.user, job=job, words=words)
    except Refused as refused:
        messages.error(request, str(refused.message))
    return redirect("residents:import_job", pk=job.pk)


@login_required
@register_page
def import_template(request: AuthedHttpRequest) -> FileResponse:
    """An xlsx to fill in: the headers, one example row, and the category words."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    services.import_template_xlsx(fh=spool)
    spool.seek(0)
    response = FileResponse(
        spool,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    attach(response, _("resident-list-template.xlsx"), fallback="resident-list-template.xlsx")
    return response


def _run_in_background(job: ImportJob, task) -> bool:
    if job.size > settings.WUYI_IMPORT_BACKGROUND_BYTES:
        transaction.on_commit(lambda: task.delay(job.pk))
        return True
    return False


@login_required
@require_POST
def import_retry(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Start again an import whose worker died (its page offers this button)."""
    job = get_visible_or_404(ImportJob, request.user, pk=pk, may=may_edit_register)
    try:
        job = services.import_job_retry(by=request.user, job=job)
    except Refused as refused:
        messages.error(request, str(refused.message))
        return redirect("residents:import_job", pk=job.pk)
    if job.state == ImportJob.State.IMPORTING:
        if not _run_in_background(job, tasks.import_commit):
            services.import_job_commit(job_id=job.pk)
    elif not _run_in_background(job, tasks.import_check):
        services.import_job_check(job_id=job.pk)
    return redirect("residents:import_job", pk=job.pk)


@login_required
@register_page
@require_POST
def import_commit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = get_visible_or_404(ImportJob, request.user, pk=pk, may=may_edit_register)
    skip = request.POST.get("skip_bad_rows") == "1"
    if job.report.get("bad_rows") and not skip and job.state == ImportJob.State.CHECKED:
        messages.error(
            request,
            _("The list has bad rows. Fix them and upload again, or choose to skip them."),
        )
        return redirect("residents:import_job", pk=job.pk)
    if not services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=skip, by=request.user):
        return redirect("residents:import_job", pk=job.pk)  # a double submit: already going
    if job.size > settings.WUYI_IMPORT_BACKGROUND_BYTES:
        transaction.on_commit(lambda: tasks.import_commit.delay(job.pk))
    else:
        services.import_job_commit(job_id=job.pk)
    return redirect("residents:import_job", pk=job.pk)
