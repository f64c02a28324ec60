import io

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import may_edit_register, may_see_full_personal_data, scope_of
from accounts.models import Level
from compounds.models import Community, Compound

from . import selectors, services, tasks
from .forms import ImportForm, ResidentForm, TagForm
from .models import Category, Household, ImportJob, Resident, VulnerableTag

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> dict:
    compound = request.GET.get("compound", "")
    category = request.GET.get("category", "")
    return {
        "q": request.GET.get("q", "")[:60],
        "compound": int(compound) if compound.isdigit() else None,
        "category": category if category in Category.values else "",
    }


@login_required
def resident_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    residents = selectors.resident_search(
        user=request.user,
        query=filters["q"],
        compound_id=filters["compound"],
        category=filters["category"],
    )
    page = Paginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "compounds": Compound.objects.visible_to(request.user).order_by("name"),
        "categories": Category.choices,
        "may_edit": may_edit_register(request.user),
        "may_full": may_see_full_personal_data(request.user),
        "querystring": request.GET.urlencode(),
    }
    template = "residents/_resident_rows.html" if request.htmx else "residents/resident_list.html"
    return render(request, template, context)


@login_required
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(
        Resident.objects.visible_to(request.user).select_related(
            "household__building", "compound__community"
        ),
        pk=pk,
    )
    history = resident.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "residents/resident_detail.html",
        {
            "resident": resident,
            "tags": resident.tags.order_by("category"),
            "history": history,
            "may_edit": may_edit_register(request.user),
            "may_full": may_see_full_personal_data(request.user),
            "tag_form": TagForm(),
        },
    )


@login_required
@require_POST
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(Resident.objects.visible_to(request.user), pk=pk)
    if not may_see_full_personal_data(request.user):
        raise PermissionDenied
    full = services.resident_reveal(user=request.user, resident=resident)
    return render(request, "residents/_revealed.html", {"resident": resident, "full": full})


def _resident_form_page(request, *, household: Household, resident: Resident | None):
    if not may_edit_register(request.user):
        raise PermissionDenied
    initial = {}
    if resident is not None:
        initial = {
            field: getattr(resident, field)
            for field in ("name", "gender", "birth_date", "phone", "relation", "notes")
        }
        initial.update(
            quarantine=resident.quarantine,
            quarantine_from=resident.quarantine_from,
            quarantine_until=resident.quarantine_until,
        )
    form = ResidentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        national_id = data.pop("national_id")
        if resident is not None and not national_id:
            national_id = None  # left blank on edit: keep the registered number
        try:
            saved = services.resident_save(
                user=request.user,
                household=household,
                data=data,
                national_id=national_id,
                resident=resident,
            )
        except services.RegisterError as refused:
            for field, message in refused.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Saved %(name)s.") % {"name": saved.name})
            return redirect("residents:detail", pk=saved.pk)
    return render(
        request,
        "residents/resident_form.html",
        {"form": form, "household": household, "resident": resident},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def resident_create(request: HttpRequest, household_pk: int) -> HttpResponse:
    household = get_object_or_404(
        Household.objects.visible_to(request.user).select_related("building"), pk=household_pk
    )
    return _resident_form_page(request, household=household, resident=None)


@login_required
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(
        Resident.objects.visible_to(request.user).select_related("household__building"), pk=pk
    )
    return _resident_form_page(request, household=resident.household, resident=resident)


@login_required
@require_POST
def tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    resident = get_object_or_404(Resident.objects.visible_to(request.user), pk=pk)
    if not may_edit_register(request.user):
        raise PermissionDenied
    form = TagForm(request.POST)
    if form.is_valid():
        services.resident_tag_set(user=request.user, resident=resident, **form.cleaned_data)
        messages.success(request, _("Added to the vulnerable-person ledger."))
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("residents:detail", pk=resident.pk)


@login_required
@require_POST
def tag_remove(request: HttpRequest, pk: int, tag_pk: int) -> HttpResponse:
    tag = get_object_or_404(
        VulnerableTag.objects.visible_to(request.user), pk=tag_pk, resident_id=pk
    )
    if not may_edit_register(request.user):
        raise PermissionDenied
    services.resident_tag_remove(user=request.user, tag=tag)
    messages.success(request, _("Removed from the vulnerable-person ledger."))
    return redirect("residents:detail", pk=pk)


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        household = selectors.household_detail(user=request.user, household_id=pk)
    except Household.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "residents/household_detail.html",
        {"household": household, "may_edit": may_edit_register(request.user)},
    )


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    lines = selectors.vulnerable_ledger(
        user=request.user, category=filters["category"], compound_id=filters["compound"]
    )
    page = Paginator(lines, 200).get_page(request.GET.get("page"))
    return render(
        request,
        "residents/ledger.html",
        {
            "page": page,
            "filters": filters,
            "compounds": Compound.objects.visible_to(request.user).order_by("name"),
            "categories": Category.choices,
            "printed_at": timezone.localtime(),
        },
    )


@login_required
def export(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    full = request.GET.get("full") == "1"
    if full and not may_see_full_personal_data(request.user):
        raise PermissionDenied
    residents = selectors.resident_search(
        user=request.user,
        query=filters["q"],
        compound_id=filters["compound"],
        category=filters["category"],
    )
    buffer = io.BytesIO()
    services.residents_export_xlsx(
        user=request.user, residents=residents, full=full, filters=filters, fh=buffer
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="residents-{stamp}.xlsx"'
    return response


# ----------------------------------------------------------------------------- import


def _import_community(user, compound: Compound | None) -> Community | None:
    scope = scope_of(user)
    if compound is not None:
        return compound.community
    if scope.level == Level.COMMUNITY:
        return Community.objects.filter(pk=scope.place_id).first()
    return None


@login_required
def import_start(request: HttpRequest) -> HttpResponse:
    if not may_edit_register(request.user):
        raise PermissionDenied
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
                    user=request.user,
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
    running = job.state in (
        ImportJob.State.QUEUED,
        ImportJob.State.CHECKING,
        ImportJob.State.IMPORTING,
    )
    done = cache.get(services.progress_key(job.pk), 0) if running else job.progress
    total = job.total or job.report.get("total_rows") or 0
    percent = min(99, int(done * 100 / total)) if running and total else (0 if running else 100)
    return {"job": job, "running": running, "done": done, "percent": percent, "report": job.report}


@login_required
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    context = _job_context(request, job)
    if request.htmx:
        return render(request, "residents/_import_status.html", context)
    return render(request, "residents/import_job.html", context)


@login_required
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    if not may_edit_register(request.user):
        raise PermissionDenied
    skip = request.POST.get("skip_bad_rows") == "1"
    if job.report.get("bad_rows") and not skip and job.state == ImportJob.State.CHECKED:
        messages.error(
            request,
            _("The list has bad rows. Fix them and upload again, or choose to skip them."),
        )
        return redirect("residents:import_job", pk=job.pk)
    if not services.import_job_claim_commit(job_id=job.pk, skip_bad_rows=skip):
        return redirect("residents:import_job", pk=job.pk)  # a double submit: already going
    if job.size > settings.WUYI_IMPORT_BACKGROUND_BYTES:
        transaction.on_commit(lambda: tasks.import_commit.delay(job.pk))
    else:
        services.import_job_commit(job_id=job.pk)
    return redirect("residents:import_job", pk=job.pk)
