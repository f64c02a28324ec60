"""Pages of the campaign: the district's progress, each compound's assessment, certifying,
the printable certificate and its public verification, the checklist, publicity and texts."""

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_visible_or_404, require, scope_of
from accounts.http import AuthedHttpRequest
from accounts.models import Level
from compounds.models import Community, Compound, District
from messaging.models import SmsTemplate
from wuyi.lib import photos
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.params import choice_param, date_param, int_param
from wuyi.lib.public import is_local, public_url
from wuyi.lib.qr import qr_svg

from . import rules, selectors, services
from .forms import (
    CheckForm,
    DaysForm,
    GroupForm,
    ItemEditForm,
    ItemForm,
    PublicityForm,
    RevokeForm,
    TextForm,
)
from .models import (
    CampaignText,
    Certificate,
    CertificateStatus,
    Check,
    ChecklistGroup,
    ChecklistItem,
    ItemKind,
    PublicityKind,
    PublicityRecord,
    TextKind,
)

MSG_READERS = _("The campaign is run by district, sub-district and community staff.")


def _district_of(user) -> District | None:
    """The one district a user works in (district staff: their posting)."""
    return District.objects.visible_to(user).order_by("code").first()


@login_required
def progress(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    stage = choice_param(request.GET, "stage", [s for s, _label in selectors.STAGES])
    item_id = int_param(request.GET, "item")
    data = selectors.progress(user=request.user, stage=stage, item_id=item_id)
    item = next((i for i, _n in data.blocking if i.pk == item_id), None) if item_id else None
    return render(
        request,
        "campaign/progress.html",
        {"progress": data, "stage": stage, "item": item, "stages": selectors.STAGES},
    )


@login_required
def compound(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    found = get_visible_or_404(Compound.objects.select_related("community"), request.user, pk=pk)
    evaluation = selectors.evaluate_one(found)
    certificates, checks = selectors.compound_history(found)
    return render(
        request,
        "campaign/compound.html",
        {
            "compound": found,
            "evaluation": evaluation,
            "certificates": certificates,
            "checks": checks,
            "may_check": rules.may_check(request.user),
            "may_certify": rules.may_certify(request.user),
            "check_form": CheckForm(),
        },
    )


@login_required
@photos.accepts_photo
@require_http_methods(["GET", "POST"])
def check(request: AuthedHttpRequest, pk: int, item_pk: int) -> HttpResponse:
    found = get_visible_or_404(Compound, request.user, pk=pk)
    require(rules.may_check(request.user), _("Your role may not check campaign items."))
    item = get_visible_or_404(
        ChecklistItem.objects.filter(
            group__checklist__district_id=found.district_id, kind=ItemKind.MANUAL
        ),
        request.user,
        pk=item_pk,
    )
    form = CheckForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.check_record(
                compound_id=found.pk,
                item_id=item.pk,
                met=data["met"],
                note=data["note"],
                photo=data.get("photo"),
                by=request.user,
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, _("Recorded: %(item)s") % {"item": item.text})
            return redirect("campaign:compound", pk=found.pk)
    return render(
        request,
        "campaign/check_form.html",
        {"compound": found, "item": item, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def certify(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    found = get_visible_or_404(Compound, request.user, pk=pk)
    require(rules.may_certify(request.user), rules.MSG_NOT_DISTRICT)
    try:
        cert = services.certificate_issue(compound_id=found.pk, by=request.user)
    except Refused as refused:
        messages.error(request, str(refused))
        return redirect("campaign:compound", pk=found.pk)
    messages.success(
        request, _("%(compound)s is certified epidemic-free.") % {"compound": found.name}
    )
    return redirect("campaign:certificate", pk=cert.pk)


@login_required
def certificate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    cert = get_visible_or_404(
        Certificate.objects.select_related("compound", "compound__community", "certified_by"),
        request.user,
        pk=pk,
    )
    url = public_url(request, reverse("campaign:verify", args=[cert.token]))
    return render(
        request,
        "campaign/certificate.html",
        {
            "cert": cert,
            "verify_url": url,
            "qr": qr_svg(url),
            "local_address": is_local(url),
            "may_revoke": rules.may_certify(request.user) and cert.status == "valid",
            "revoke_form": RevokeForm(),
        },
    )


@login_required
@require_POST
def revoke(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    cert = get_visible_or_404(Certificate, request.user, pk=pk)
    require(rules.may_certify(request.user), rules.MSG_NOT_DISTRICT)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect("campaign:certificate", pk=cert.pk)
    try:
        services.certificate_revoke(
            certificate_id=cert.pk, reason=form.cleaned_data["reason"], by=request.user
        )
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect("campaign:certificate", pk=cert.pk)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code's page: anyone, no login. A valid certificate's compound, status and dates;
    nothing personal. Revoked or unknown: 404, alike."""
    if len(token) > 40:
        raise Http404
    cert = (
        Certificate.objects.filter(token=token, status=CertificateStatus.VALID)
        .select_related("compound", "compound__community", "compound__district")
        .first()
    )
    if cert is None:
        raise Http404
    return render(request, "campaign/verify.html", {"cert": cert})


@login_required
def check_photo(request: AuthedHttpRequest, pk: int) -> FileResponse:
    require(rules.may_read(request.user), MSG_READERS)
    found = get_visible_or_404(Check, request.user, pk=pk)
    if not found.photo:
        raise Http404
    response = FileResponse(found.photo.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


# ----------------------------------------------------------------------------- checklist


@login_required
@require_http_methods(["GET", "POST"])
def checklist(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    district = _district_of(request.user)
    if district is None:
        raise Http404
    editor = rules.may_edit_checklist(request.user)
    current = selectors.checklist_of(district.pk)
    days_form = DaysForm(initial=selectors.measure_settings(district.pk))
    group_form, item_form = GroupForm(), ItemForm()
    status = 200
    if request.method == "POST":
        require(editor, rules.MSG_NOT_EDITOR)
        current = services.checklist_for(district=district, by=request.user)
        action = request.POST.get("action")
        form: type[forms.Form] | None = {
            "days": DaysForm,
            "group": GroupForm,
            "item": ItemForm,
        }.get(str(action))
        if form is None:
            raise Http404
        bound = form(request.POST)
        try:
            if not bound.is_valid():
                raise Refused(_("Correct the fields below."))
            data = bound.cleaned_data
            if action == "days":
                services.checklist_set_days(
                    checklist=current,
                    no_case_days=data["no_case_days"],
                    rounds=data["rounds"],
                    coverage=data["coverage"],
                    by=request.user,
                )
            elif action == "group":
                services.group_add(checklist=current, title=data["title"], by=request.user)
            else:
                group = get_visible_or_404(
                    ChecklistGroup.objects.filter(checklist=current), request.user, pk=data["group"]
                )
                services.item_add(
                    group=group,
                    text=data["text"],
                    kind=data["kind"],
                    needs_evidence=data["needs_evidence"],
                    by=request.user,
                )
        except Refused as refused:
            add_to_form(bound, refused)
            status = 400
            if isinstance(bound, DaysForm):
                days_form = bound
            elif isinstance(bound, GroupForm):
                group_form = bound
            elif isinstance(bound, ItemForm):
                item_form = bound
        else:
            messages.success(request, _("The checklist is saved."))
            return redirect("campaign:checklist")
    groups = []
    if current is not None:
        items = ChecklistItem.objects.current().filter(group__checklist=current)
        by_group: dict[int, list[ChecklistItem]] = {}
        for i in items:
            by_group.setdefault(i.group_id, []).append(i)
        groups = [(g, by_group.get(g.pk, [])) for g in current.groups.all()]
    return render(
        request,
        "campaign/checklist.html",
        {
            "district": district,
            "groups": groups,
            "editor": editor,
            "days_form": days_form,
            "group_form": group_form,
            "item_form": item_form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    item = get_visible_or_404(
        ChecklistItem.objects.current(), request.user, pk=pk, may=rules.may_edit_checklist
    )
    form = ItemEditForm(
        request.POST or None, initial={"text": item.text, "needs_evidence": item.needs_evidence}
    )
    if request.method == "POST":
        if request.POST.get("action") == "retire":
            services.item_retire(item=item, by=request.user)
            messages.success(request, _("The item is removed from the checklist."))
            return redirect("campaign:checklist")
        if form.is_valid():
            try:
                services.item_edit(
                    item=item,
                    text=form.cleaned_data["text"],
                    needs_evidence=form.cleaned_data["needs_evidence"],
                    by=request.user,
                )
            except Refused as refused:
                add_to_form(form, refused)
            else:
                messages.success(request, _("The checklist is saved."))
                return redirect("campaign:checklist")
    return render(
        request,
        "campaign/item_form.html",
        {"item": item, "form": form},
        status=400 if request.method == "POST" else 200,
    )


# ----------------------------------------------------------------------------- publicity


@login_required
@require_http_methods(["GET", "POST"])
def publicity(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    communities = list(Community.objects.visible_to(request.user).order_by("code"))
    today = timezone.localdate()
    form = PublicityForm(request.POST or None, communities=communities, initial={"day": today})
    if request.method == "POST":
        require(rules.may_record_publicity(request.user))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.publicity_record(
                    community_id=data["community"],
                    day=data["day"],
                    kind=data["kind"],
                    count=data["count"],
                    place=data["place"],
                    note=data["note"],
                    by=request.user,
                )
            except Refused as refused:
                add_to_form(form, refused)
            except Community.DoesNotExist:
                raise Http404 from None
            else:
                messages.success(request, _("The publicity record is saved."))
                return redirect("campaign:publicity")
    start = date_param(request.GET, "from") or today - datetime.timedelta(days=29)
    end = date_param(request.GET, "to") or today
    subs, districts, total = selectors.publicity_totals(user=request.user, start=start, end=end)
    records = (
        PublicityRecord.objects.visible_to(request.user)
        .select_related("community")
        .order_by("-day", "-id")[:50]
    )
    return render(
        request,
        "campaign/publicity.html",
        {
            "form": form,
            "records": records,
            "subs": subs,
            "districts": districts,
            "total": total,
            "kinds": PublicityKind.choices,
            "start": start,
            "end": end,
            "may_record": rules.may_record_publicity(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


# ----------------------------------------------------------------------------- texts


@login_required
@require_http_methods(["GET", "POST"])
def texts(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    district = _district_of(request.user)
    if district is None:
        raise Http404
    existing = {t.kind: t for t in CampaignText.objects.filter(district=district)}
    editor = rules.may_write_texts(request.user)
    text_forms = {
        kind: TextForm(
            initial={
                "kind": kind,
                "title": existing[kind].title if kind in existing else label,
                "body": existing[kind].body if kind in existing else "",
            },
            prefix=kind,
        )
        for kind, label in TextKind.choices
    }
    template = SmsTemplate.objects.filter(name=services.TEXT_SMS).first()
    sms_body = template.body if template else ""
    status = 200
    if request.method == "POST":
        require(editor, rules.MSG_NOT_EDITOR)
        kind = choice_param(request.POST, "kind", TextKind.values)
        if not kind:
            raise Http404
        bound = TextForm(request.POST, prefix=kind)
        text_forms[kind] = bound
        if bound.is_valid():
            try:
                services.text_save(
                    district=district,
                    kind=kind,
                    title=bound.cleaned_data["title"],
                    body=bound.cleaned_data["body"],
                    by=request.user,
                )
            except Refused as refused:
                add_to_form(bound, refused)
            else:
                messages.success(request, _("The text is saved."))
                return redirect("campaign:texts")
        status = 400
    return render(
        request,
        "campaign/texts.html",
        {
            "forms": [
                (kind, label, text_forms[kind], existing.get(kind))
                for kind, label in TextKind.choices
            ],
            "editor": editor,
            "may_send": rules.may_send_texts(request.user),
            "compounds": (
                Compound.objects.visible_to(request.user).order_by("name")
                if rules.may_send_texts(request.user)
                else []
            ),
            "sms_body": sms_body,
        },
        status=status,
    )


@login_required
@require_POST
def text_send(request: AuthedHttpRequest, kind: str) -> HttpResponse:
    """A secretary sends the residents' code or the appeal letter to one compound's residents
    as an SMS campaign. A compound out of reach: 404; a role that does not send: 403."""
    if kind not in TextKind.values:
        raise Http404
    compound_id = int_param(request.POST, "compound")
    if compound_id is None:
        messages.error(request, _("Choose the compound whose residents get the SMS."))
        return redirect("campaign:texts")
    found = get_visible_or_404(Compound, request.user, pk=compound_id)
    require(rules.may_send_texts(request.user), rules.MSG_NOT_SENDER)
    try:
        message, fresh = services.text_send(kind=kind, compound_id=found.pk, by=request.user)
    except Refused as refused:
        messages.error(request, "；".join(str(m) for m in refused.errors.values()))
        return redirect("campaign:texts")
    if not fresh:
        messages.info(
            request,
            _("This version was already sent to %(compound)s on %(when)s.")
            % {
                "compound": found.name,
                "when": timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M"),
            },
        )
    else:
        messages.success(
            request,
            _("%(n)d SMS queued for the residents of %(compound)s.")
            % {"n": message.recipient_count, "compound": found.name},
        )
    return redirect("messaging:detail", pk=message.pk)


@login_required
def text_print(request: AuthedHttpRequest, kind: str) -> HttpResponse:
    require(rules.may_read(request.user), MSG_READERS)
    if kind not in TextKind.values:
        raise Http404
    district = _district_of(request.user)
    text = CampaignText.objects.filter(district=district, kind=kind).first()
    if text is None:
        raise Http404
    community = None
    scope = scope_of(request.user)
    if scope.single and scope.single[0] == Level.COMMUNITY:
        community = Community.objects.filter(pk=scope.single[1]).first()
    return render(request, "campaign/text_print.html", {"text": text, "community": community})
