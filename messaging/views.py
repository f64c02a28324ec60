"""Pages: the campaigns, composing one (with its preview), a campaign's results, the opt-out
list, SMS per community per day; and the providers' receipt webhooks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.access import get_visible_or_404, require
from accounts.http import AuthedHttpRequest
from compounds.models import Community
from wuyi.lib.errors import Refused, add_to_form
from wuyi.lib.pagination import CappedPaginator
from wuyi.lib.params import choice_param, int_param

from . import budgets, outbox, places, registry, rules, selectors, services
from .audiences import ADHOC
from .backends import BadSignature, get_backend
from .forms import BudgetForm, CampaignForm, OptOutForm
from .models import Budget, Message, OptOut, RecipientStatus, SmsTemplate

PAGE_SIZE = 50
MSG_COMPOSERS = gettext_lazy("Only the community secretary sends SMS campaigns.")


@login_required
def message_list(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user))
    page = CappedPaginator(selectors.messages_for(request.user), PAGE_SIZE).get_page(
        int_param(request.GET, "page")
    )
    community_id = places.place_of_user(request.user).community_id
    budget = selectors.budget_line(community_id=community_id) if community_id else None
    rows = [(m, selectors.message_status(m)) for m in page]
    return render(
        request,
        "messaging/message_list.html",
        {
            "page": page,
            "rows": rows,
            "labels": selectors.STATUS_LABELS,
            "budget": budget,
            "may_compose": rules.may_compose(request.user),
            "may_see_daily": rules.may_see_daily(request.user),
            "may_set_budget": rules.may_set_budget(request.user),
        },
    )


# ----------------------------------------------------------------------------- compose


def _audience_choices(user, only: str | None = None) -> list[dict[str, Any]]:
    """Each audience with the targets this user may pick (an empty one is left out); with
    `only`, that audience alone."""
    shown = []
    for builder in registry.audiences():
        if only is not None and builder.key != only:
            continue
        targets = builder.targets(user)
        if targets or builder.key == ADHOC:
            shown.append({"builder": builder, "targets": targets, "field": f"t:{builder.key}"})
    return shown


def _choices(audiences: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The audience field's choices: the key and label of each audience shown."""
    return [(a["builder"].key, a["builder"].label) for a in audiences]


def _targets_of(post, audience: str) -> list[str]:
    if audience == ADHOC:
        return str(post.get(f"t:{audience}", "")).splitlines()
    return [str(v) for v in post.getlist(f"t:{audience}")]


def _variables(template: SmsTemplate | None, data, errors: dict[str, str]) -> list[dict]:
    if template is None:
        return []
    return [
        {
            "name": name,
            "label": rules.variable_label(name),
            "field": f"var_{name}",
            "value": data.get(f"var_{name}", ""),
            "error": errors.get(f"var_{name}", ""),
        }
        for name in template.variables
    ]


@login_required
def compose(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_compose(request.user), MSG_COMPOSERS)
    # The app's own texts (codes, links, reminders) are not for campaigns.
    templates = (
        SmsTemplate.objects.filter(approved=True)
        .exclude(name__in=registry.system_template_names())
        .order_by("name")
    )
    communities = (
        services.sending_communities(request.user)
        if services.needs_community_choice(request.user)
        else []
    )
    data = request.POST if request.method == "POST" else None

    def form_of(audiences: list[dict[str, Any]]) -> CampaignForm:
        return CampaignForm(
            data, templates=templates, audiences=_choices(audiences), communities=communities
        )

    # 确认 sends what the preview showed: only its audience's targets are needed, unless the
    # page is shown again (every audience's, each of them a query or two).
    confirming = data is not None and data.get("action") == "confirm"
    only = str(data.get("audience", ""))[:100] if data is not None and confirming else None
    audiences = _audience_choices(request.user, only)
    form = form_of(audiences)
    state: dict[str, Any] = {"errors": {}, "preview": None, "confirm": False, "checked": ""}
    template = None
    if request.method == "GET":
        # The template's variables, when the template select changes (htmx) or is preset.
        chosen = int_param(request.GET, "template")
        template = templates.filter(pk=chosen).first() if chosen else None
        if template is not None:
            form = CampaignForm(
                initial={"template": template.pk},
                templates=templates,
                audiences=_choices(audiences),
                communities=communities,
            )
    elif form.is_valid():
        template = form.cleaned_data["template"]
        done = _compose_post(request, form, template, state)
        if done is not None:
            return done
    else:
        template = form.cleaned_data.get("template") if hasattr(form, "cleaned_data") else None
    if confirming:  # not sent: the page again, with every audience to choose from
        audiences = _audience_choices(request.user)
        form = form_of(audiences)
        form.is_valid()
    context = _compose_context(request, form, audiences, template, state)
    errors = state["errors"]
    status = 400 if errors or (data is not None and not form.is_valid()) else 200
    if request.htmx and request.method == "POST":
        return render(request, "messaging/_preview.html", context, status=200)
    return render(request, "messaging/compose.html", context, status=status)


def _compose_post(
    request: AuthedHttpRequest, form: CampaignForm, template: SmsTemplate, state: dict[str, Any]
) -> HttpResponse | None:
    """A valid compose form: the preview, or (confirmed, unchanged since) the campaign sent
    and the redirect to it. Fills `state` (errors, preview, confirm, checked) for the page."""
    audience = form.cleaned_data["audience"]
    args = {
        "by": request.user,
        "template_id": template.pk,
        "variables": {name: request.POST.get(f"var_{name}", "") for name in template.variables},
        "audience": audience,
        "targets": _targets_of(request.POST, audience),
        "send_at": form.cleaned_data["send_at"],
        "urgent": form.cleaned_data["urgent"],
        "community": form.cleaned_data.get("community") or None,
    }
    action = request.POST.get("action")
    state["checked"] = checked = _digest(args)
    try:
        if action == "confirm" and request.POST.get("checked") == checked:
            message = services.campaign_create(
                **args, idempotency_key=form.cleaned_data["key"] or None
            )
            messages.success(request, _sent_note(message))
            return redirect("messaging:detail", pk=message.pk)
        state["preview"] = selectors.campaign_preview(**args)
        # 发送 shows what goes out and asks once more; a form changed since is shown again.
        state["confirm"] = action in ("send", "confirm")
        if action == "confirm":
            messages.warning(request, _("The form changed since the preview: check it again."))
    except Refused as refused:
        state["errors"] = refused.errors
    return None


def _sent_note(message: Message) -> str:
    if message.send_at <= timezone.now():
        return _("%(count)d SMS are on their way.") % {"count": message.recipient_count}
    return _("Scheduled for %(when)s: %(count)d SMS.") % {
        "when": timezone.localtime(message.send_at).strftime("%Y-%m-%d %H:%M"),
        "count": message.recipient_count,
    }


def _compose_context(
    request: AuthedHttpRequest,
    form: CampaignForm,
    audiences: list[dict[str, Any]],
    template: SmsTemplate | None,
    state: dict[str, Any],
) -> dict[str, Any]:
    data = request.POST if request.method == "POST" else None
    errors: dict[str, str] = state["errors"]
    # A page elsewhere may link here with the audience and its targets chosen (screening's
    # "text the missing"): ?audience=…&t:<audience>=…; nothing is sent before the form is.
    given = data if data is not None else request.GET
    chosen = str(given.get("audience", ""))[:100]
    picked = set(given.getlist(f"t:{chosen}"))
    for a in audiences:
        # Each target as the select shows it, (value, label, selected): a community of 500
        # buildings asked the template for its choice 500 times.
        mine = a["builder"].key == chosen
        a["options"] = [(t.value, t.label, mine and t.value in picked) for t in a["targets"]]
    return {
        "form": form,
        "audiences": audiences,
        "chosen_audience": chosen or "",
        "adhoc_text": request.POST.get(f"t:{ADHOC}", "") if data else "",
        "adhoc": ADHOC,
        "template": template,
        "variables": _variables(template, request.POST if data else {}, errors),
        "errors": errors,
        "targets_error": errors.get("targets") or errors.get("phones") or errors.get("audience"),
        "other_errors": [
            message
            for field, message in errors.items()
            if not field.startswith("var_")
            and field not in ("targets", "phones", "audience", "template", "send_at", "community")
        ],
        **state,
    }


def _digest(args: dict[str, Any]) -> str:
    """What the preview showed, in a few bytes: the confirmation sends only that."""
    send_at = args["send_at"]
    text = json.dumps(
        [
            args["template_id"],
            sorted(args["variables"].items()),
            args["audience"],
            sorted(args["targets"]),
            send_at.isoformat() if send_at else "",
            bool(args["urgent"]),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ----------------------------------------------------------------------------- results


@login_required
def message_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    require(rules.may_read(request.user))
    message = get_visible_or_404(
        Message.objects.select_related("template", "sender", "community"), request.user, pk=pk
    )
    status = choice_param(request.GET, "status", RecipientStatus.values)
    results = selectors.message_results(message=message)
    page = CappedPaginator(
        selectors.message_recipients(message=message, status=status), PAGE_SIZE
    ).get_page(int_param(request.GET, "page"))
    return render(
        request,
        "messaging/message_detail.html",
        {
            "message": message,
            "results": results,
            "page": page,
            "status": status,
            "status_label": selectors.STATUS_LABELS[results.status],
            "statuses": RecipientStatus.choices,
            "may_cancel": rules.may_compose(request.user)
            and message.cancelled_at is None
            and results.counts.get(RecipientStatus.QUEUED, 0) > 0,
            "held": rules.in_quiet_hours(timezone.now()) and not message.urgent,
        },
    )


@login_required
@require_POST
def message_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    message = get_visible_or_404(Message, request.user, pk=pk, may=rules.may_compose)
    try:
        count = services.campaign_cancel(by=request.user, message_id=message.pk)
    except Refused as refused:
        messages.error(request, str(refused.message))
    else:
        if count:
            messages.success(
                request, _("Cancelled: %(count)d SMS will not be sent.") % {"count": count}
            )
    return redirect("messaging:detail", pk=message.pk)


# ----------------------------------------------------------------------------- opt-out


@login_required
def opt_outs(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_read(request.user))
    may_edit = rules.may_compose(request.user)
    form = OptOutForm(request.POST or None)
    if request.method == "POST":
        require(may_edit)
        if form.is_valid():
            try:
                opt_out = services.opt_out_add(by=request.user, **form.cleaned_data)
            except Refused as refused:
                for field, message in refused.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(
                    request, _("%(phone)s will get no more SMS.") % {"phone": opt_out.masked_phone}
                )
                return redirect("messaging:opt_outs")
    page = CappedPaginator(selectors.opt_outs_for(request.user), PAGE_SIZE).get_page(
        int_param(request.GET, "page")
    )
    return render(
        request,
        "messaging/opt_outs.html",
        {"form": form, "page": page, "may_edit": may_edit},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def opt_out_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    opt_out = get_visible_or_404(OptOut, request.user, pk=pk, may=rules.may_compose)
    services.opt_out_remove(by=request.user, opt_out=opt_out)
    messages.success(request, _("%(phone)s gets SMS again.") % {"phone": opt_out.masked_phone})
    return redirect("messaging:opt_outs")


# ----------------------------------------------------------------------------- district


@login_required
def daily(request: AuthedHttpRequest) -> HttpResponse:
    require(rules.may_see_daily(request.user))
    days = int_param(request.GET, "days", maximum=62) or 14
    dates, rows = selectors.sent_per_community_per_day(user=request.user, days=days)
    return render(
        request,
        "messaging/daily.html",
        {"dates": dates, "rows": rows, "days": days, "total": sum(r.total for r in rows)},
    )


# ----------------------------------------------------------------------------- budgets


@login_required
def budget_list(request: AuthedHttpRequest) -> HttpResponse:
    """The communities district staff see, each with its monthly amounts and this month's
    spending per line."""
    require(rules.may_set_budget(request.user), budgets.MSG_DISTRICT_ONLY)
    communities = Community.objects.visible_to(request.user).order_by("name", "pk")
    page = CappedPaginator(communities, PAGE_SIZE).get_page(int_param(request.GET, "page"))
    rows = selectors.community_budgets(communities=list(page))
    return render(request, "messaging/budgets.html", {"page": page, "rows": rows})


@login_required
def budget_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Set one community's monthly amounts, through budgets.budget_set and its checks."""
    community = get_visible_or_404(Community, request.user, pk=pk, may=rules.may_set_budget)
    budget = Budget.objects.filter(community=community).first()
    initial = {}
    if budget is not None:
        initial = {
            "monthly_amount": budget.monthly_amount,
            "system_amount": budget.system_amount if budget.system_amount is not None else "",
            "public_amount": budget.public_amount if budget.public_amount is not None else "",
            "note": budget.note,
        }
    form = BudgetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            budgets.budget_set(
                by=request.user,
                community=community,
                amount=data["monthly_amount"],
                system_amount=data["system_amount"],
                public_amount=data["public_amount"],
                note=data["note"],
            )
        except Refused as refused:
            add_to_form(form, refused)
        else:
            messages.success(
                request, _("The SMS budget of %(community)s is saved.") % {"community": community}
            )
            return redirect("messaging:budgets")
    row = selectors.community_budgets(communities=[community])[0]
    return render(
        request,
        "messaging/budget_edit.html",
        {"form": form, "community": community, "row": row},
        status=400 if request.method == "POST" else 200,
    )


# ----------------------------------------------------------------------------- receipts

PROVIDERS = ("http", "aliyun", "tencent")
MAX_RECEIPT_BYTES = 1024 * 1024


@csrf_exempt
@require_POST
def receipts(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's delivery receipts. Authenticated by the provider's signature (HMAC) or the
    shared secret in the URL; nothing is read before that. Idempotent."""
    if provider not in PROVIDERS:
        return JsonResponse({"detail": "not found"}, status=404)
    body = request.body[: MAX_RECEIPT_BYTES + 1]
    if len(body) > MAX_RECEIPT_BYTES:
        return JsonResponse({"detail": "too large"}, status=413)
    try:
        backend = get_backend(provider)
        found = backend.receipts_from_request(
            body=body,
            headers=request.headers,
            query=request.GET,
        )
    except (BadSignature, ValueError):
        return JsonResponse({"detail": "bad signature"}, status=403)
    updated = outbox.receipts_apply(provider=provider, receipts=found)
    return JsonResponse(backend.receipt_reply(updated))
