"""Writes of the campaign. The acting user is `by=` everywhere; `by=None` is the system itself
(a certificate revoked because the compound's status rose)."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Level, Role, Severity, User
from accounts.services import alerts_raise, in_site_language
from compounds.models import Community, Compound, District
from compounds.selectors import users_posted_at
from messaging import services as messaging
from messaging.models import Message, SmsTemplate
from messaging.rules import fit_value
from wuyi.lib import photos
from wuyi.lib.errors import Refused

from . import rules
from .models import (
    Assessment,
    CampaignText,
    Certificate,
    CertificateStatus,
    Check,
    Checklist,
    ChecklistGroup,
    ChecklistItem,
    ItemKind,
    PublicityKind,
    PublicityRecord,
    TextKind,
)
from .selectors import evaluate_one

TEXT_MAX = 300
BODY_MAX = 2000


def _require(allowed: bool, message: Any) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _text(value: Any, *, field: str, max_length: int, required: bool = True) -> str:
    value = " ".join(str(value or "").split()) if max_length <= TEXT_MAX else str(value or "")
    value = value.strip()
    if required and not value:
        raise Refused(_("This field is required."), field=field)
    if len(value) > max_length:
        raise Refused(_("At most %(max)d characters.") % {"max": max_length}, field=field)
    return value


# ----------------------------------------------------------------------------- checklist


def checklist_for(*, district: District, by: User) -> Checklist:
    """The district's checklist, made empty on first use (the groups are the district's words:
    none is shipped)."""
    checklist, _created = Checklist.objects.get_or_create(district=district)
    return checklist


def _bounded(value: Any, bounds: tuple[int, int], *, field: str, unit: Any) -> int:
    low, high = bounds
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if isinstance(value, bool) or not low <= number <= high:
        raise Refused(
            _("Between %(low)d and %(high)d %(unit)s.") % {"low": low, "high": high, "unit": unit},
            field=field,
        )
    return number


def checklist_set_days(
    *,
    checklist: Checklist,
    no_case_days: Any,
    rounds: Any = None,
    coverage: Any = None,
    by: User,
) -> Checklist:
    """The district's settings of the measured items: N days without a case, and the last K
    testing rounds each covered at or above a percent (unchanged when not given)."""
    _require(rules.may_edit_checklist(by), rules.MSG_NOT_EDITOR)
    checklist.no_case_days = _bounded(
        no_case_days, rules.NO_CASE_DAYS_RANGE, field="no_case_days", unit=_("days")
    )
    if rounds is not None:
        checklist.rounds = _bounded(rounds, rules.ROUNDS_RANGE, field="rounds", unit=_("rounds"))
    if coverage is not None:
        checklist.coverage = _bounded(
            coverage, rules.COVERAGE_RANGE, field="coverage", unit=_("percent")
        )
    checklist.updated_at = timezone.now()
    checklist.save(update_fields=["no_case_days", "rounds", "coverage", "updated_at"])
    return checklist


def group_add(*, checklist: Checklist, title: Any, by: User) -> ChecklistGroup:
    _require(rules.may_edit_checklist(by), rules.MSG_NOT_EDITOR)
    title = _text(title, field="title", max_length=100)
    position = checklist.groups.count()
    return ChecklistGroup.objects.create(checklist=checklist, title=title, position=position)


def item_add(
    *, group: ChecklistGroup, text: Any, kind: str, needs_evidence: bool, by: User
) -> ChecklistItem:
    _require(rules.may_edit_checklist(by), rules.MSG_NOT_EDITOR)
    text = _text(text, field="text", max_length=300)
    if kind not in ItemKind.values:
        raise Refused(_("Choose one of the listed kinds."), field="kind")
    position = group.items.count()
    return ChecklistItem.objects.create(
        group=group,
        text=text,
        kind=kind,
        needs_evidence=bool(needs_evidence) and kind == ItemKind.MANUAL,
        position=position,
    )


def item_edit(*, item: ChecklistItem, text: Any, needs_evidence: bool, by: User) -> ChecklistItem:
    """Change an item's wording or evidence rule. An item already checked for some compound is
    not changed: it is retired and a new item takes its place, so that the assessments keep the
    item they were made against (and compounds check the new wording afresh)."""
    _require(rules.may_edit_checklist(by), rules.MSG_NOT_EDITOR)
    text = _text(text, field="text", max_length=300)
    needs_evidence = bool(needs_evidence) and item.kind == ItemKind.MANUAL
    with transaction.atomic():
        item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        if item.retired_at is not None:
            raise Refused(rules.MSG_RETIRED)
        if not item.checks.exists():
            item.text, item.needs_evidence = text, needs_evidence
            item.save(update_fields=["text", "needs_evidence"])
            return item
        new = ChecklistItem.objects.create(
            group_id=item.group_id,
            text=text,
            kind=item.kind,
            needs_evidence=needs_evidence,
            position=item.position,
        )
        item.retired_at = timezone.now()
        item.replaced_by = new
        item.save(update_fields=["retired_at", "replaced_by"])
        return new


def item_retire(*, item: ChecklistItem, by: User) -> ChecklistItem:
    _require(rules.may_edit_checklist(by), rules.MSG_NOT_EDITOR)
    if item.retired_at is None:
        item.retired_at = timezone.now()
        item.save(update_fields=["retired_at"])
    return item


# ----------------------------------------------------------------------------- checks


def check_record(
    *,
    compound_id: int,
    item_id: int,
    met: bool,
    note: Any = "",
    photo: Any = None,
    by: User,
) -> Check:
    """A person's finding on one manual item for one compound, in its open assessment (opened
    by this check when there is none). Met needs evidence when the item says so."""
    _require(rules.may_check(by), _("Your role may not check campaign items."))
    note = _text(note, field="note", max_length=500, required=False)
    # Re-encoded before the transaction: no metadata, bounded pixels (wuyi.lib.photos).
    cleaned = photos.clean_photo(photo) if photo else None
    with transaction.atomic():
        # The compound's row serialises checks and certification of the same compound.
        compound = Compound.objects.visible_to(by).select_for_update().get(pk=compound_id)
        item = (
            ChecklistItem.objects.filter(group__checklist__district_id=compound.district_id)
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise Refused(_("Choose one of the district's checklist items."), field="item")
        if item.retired_at is not None:
            raise Refused(rules.MSG_RETIRED, field="item")
        if item.kind != ItemKind.MANUAL:
            raise Refused(rules.MSG_MEASURED, field="item")
        if met and item.needs_evidence and not note and cleaned is None:
            raise Refused(rules.MSG_EVIDENCE, field="note")
        assessment, _created = Assessment.objects.get_or_create(
            compound=compound, closed_at__isnull=True, defaults={"compound": compound}
        )
        check = Check(assessment=assessment, item=item, met=bool(met), note=note, checked_by=by)
        if cleaned is not None:
            check.photo.save(f"check-{compound.pk}-{item.pk}.jpg", cleaned, save=False)
        check.save()
        return check


# ----------------------------------------------------------------------------- certificates


def _number(compound: Compound, now: datetime.datetime) -> str:
    day = timezone.localdate(now)
    count = Certificate.objects.filter(compound__district_id=compound.district_id).count() + 1
    return f"WY{compound.district_id:03d}-{day:%Y%m%d}-{count:05d}"


def certificate_issue(*, compound_id: int, by: User) -> Certificate:
    """Certify a compound epidemic-free. Eligibility is judged again now, under the compound's
    lock; an ineligible compound is refused with its failing items named. Certifying one that
    is already certified returns its certificate (a double submit)."""
    _require(rules.may_certify(by), rules.MSG_NOT_DISTRICT)
    with transaction.atomic():
        compound = Compound.objects.visible_to(by).select_for_update().get(pk=compound_id)
        existing = Certificate.objects.filter(
            compound=compound, status=CertificateStatus.VALID
        ).first()
        if existing is not None:
            return existing
        now = timezone.now()
        evaluation = evaluate_one(compound, now=now)
        if not evaluation.eligible:
            failing = "；".join(r.item.text for r in evaluation.failing) or _(
                "the district has no checklist yet"
            )
            raise Refused(rules.MSG_NOT_ELIGIBLE % {"items": failing}, code="not_eligible")
        assessment, _created = Assessment.objects.get_or_create(
            compound=compound, closed_at__isnull=True, defaults={"compound": compound}
        )
        assessment.closed_at = now
        assessment.save(update_fields=["closed_at"])
        figures = [
            {
                "item": r.item.text,
                "met": r.met,
                "figure": r.why,
                "checked_by": r.check.checked_by.display_name if r.check else "",
                "checked_at": r.check.checked_at.isoformat() if r.check else "",
            }
            for r in evaluation.items
        ]
        return Certificate.objects.create(
            compound=compound,
            assessment=assessment,
            number=_number(compound, now),
            certified_by=by,
            certified_at=now,
            figures=figures,
        )


def _district_staff(compound: Compound) -> list[User]:
    return users_posted_at(Level.DISTRICT, compound.district_id, roles=[Role.DISTRICT_STAFF])


def certificate_revoke(*, certificate_id: int, reason: Any, by: User | None) -> Certificate:
    """Revoke a certificate, with the reason; district staff are told under their bell. `by`
    None: the system (the compound's status rose), checked against the graph only."""
    reason = _text(reason, field="reason", max_length=300)
    with transaction.atomic():
        qs = Certificate.objects.select_for_update()
        if by is not None:
            qs = qs.visible_to(by)
        certificate = qs.select_related("compound").get(pk=certificate_id)
        rules.CERTIFICATE.check(certificate.status, CertificateStatus.REVOKED, by=by)
        certificate.status = CertificateStatus.REVOKED
        certificate.revoked_at = timezone.now()
        certificate.revoked_by = by
        certificate.revoke_reason = reason
        certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
        compound = certificate.compound
        alerts_raise(
            to=_district_staff(compound),
            text=_("%(compound)s: epidemic-free certificate %(number)s revoked: %(reason)s")
            % {"compound": compound.name, "number": certificate.number, "reason": reason},
            key=f"campaign:revoked:{certificate.pk}",
            link=f"/campaign/compounds/{compound.pk}/",
            severity=Severity.URGENT,
        )
        return certificate


@in_site_language
def revoke_for_compound(*, compound: Compound, reason: str) -> Certificate | None:
    """The compound's valid certificate revoked by the system (its status rose); None when it
    had none. Called in the transaction of the status change."""
    valid = Certificate.objects.filter(compound=compound, status=CertificateStatus.VALID).first()
    if valid is None:
        return None
    return certificate_revoke(certificate_id=valid.pk, reason=reason, by=None)


# ----------------------------------------------------------------------------- publicity


def publicity_record(
    *,
    community_id: int,
    day: Any,
    kind: str,
    count: Any,
    place: Any,
    note: Any = "",
    by: User,
) -> PublicityRecord:
    """One day's publicity work of one kind in a community. A count is at least 1, and a day's
    total of one kind in one community at most a million (more is a typing slip)."""
    _require(rules.may_record_publicity(by), _("Your role may not record publicity work."))
    community = Community.objects.visible_to(by).get(pk=community_id)
    if kind not in PublicityKind.values:
        raise Refused(_("Choose one of the listed kinds."), field="kind")
    if not isinstance(day, datetime.date):
        raise Refused(_("Give a date."), field="day")
    if day > timezone.localdate():
        raise Refused(rules.MSG_DAY_FUTURE, field="day")
    if isinstance(count, bool) or not isinstance(count, int):
        raise Refused(_("Give a whole number."), field="count")
    if count < 1:
        raise Refused(rules.MSG_COUNT_LOW, field="count")
    place = _text(place, field="place", max_length=100)
    note = _text(note, field="note", max_length=200, required=False)
    limit = rules.MAX_PUBLICITY_PER_DAY
    with transaction.atomic():
        Community.objects.select_for_update().get(pk=community.pk)
        already = (
            PublicityRecord.objects.filter(community=community, day=day, kind=kind).aggregate(
                n=Sum("count")
            )["n"]
            or 0
        )
        if count > limit or already + count > limit:
            raise Refused(
                rules.MSG_COUNT_HIGH % {"count": f"{already + count:,}", "max": f"{limit:,}"},
                field="count",
            )
        return PublicityRecord.objects.create(
            community=community,
            day=day,
            kind=kind,
            count=count,
            place=place,
            note=note,
            recorded_by=by,
        )


# ----------------------------------------------------------------------------- texts


def text_save(*, district: District, kind: str, title: Any, body: Any, by: User) -> CampaignText:
    """The residents' code or the appeal letter of a district, written by district staff."""
    _require(rules.may_write_texts(by), rules.MSG_NOT_EDITOR)
    if kind not in TextKind.values:
        raise Refused(_("Choose one of the listed kinds."), field="kind")
    title = _text(title, field="title", max_length=60)
    body = _text(body, field="body", max_length=BODY_MAX)
    text, _created = CampaignText.objects.update_or_create(
        district=district,
        kind=kind,
        defaults={"title": title, "body": body, "updated_by": by, "updated_at": timezone.now()},
    )
    return text


# The approved SMS that tells a compound's residents of a text (migration 0003 creates it).
TEXT_SMS = "居民守则与倡议书"
TEXT_AUDIENCE = "residents.compound"  # residents' audience of a whole compound


def text_send(*, kind: str, compound_id: int, by: User) -> tuple[Message, bool]:
    """Send the district's residents' code or appeal letter to a compound's residents as an SMS
    campaign (messaging's audience of the whole compound, paid by its community's budget): the
    SMS names the text and where it is posted. The secretary sends; a compound out of their
    reach is Compound.DoesNotExist. The same version of a text sent to the same compound twice
    is one campaign: (the message, whether this call wrote it)."""
    _require(rules.may_send_texts(by), rules.MSG_NOT_SENDER)
    compound = Compound.objects.visible_to(by).get(pk=compound_id)
    text = CampaignText.objects.filter(district_id=compound.district_id, kind=kind).first()
    if text is None:
        raise Refused(rules.MSG_NO_TEXT, field="kind", code="no_text")
    template = SmsTemplate.objects.filter(name=TEXT_SMS).first()
    if template is None:
        raise Refused(rules.MSG_NO_TEMPLATE, field="template", code="no_template")
    key = f"campaign-text:{text.pk}:{compound.pk}:{text.updated_at.timestamp():.0f}"
    before = Message.objects.filter(idempotency_key=key).exists()
    message = messaging.campaign_create(
        by=by,
        template_id=template.pk,
        variables={"compound": fit_value(compound.name), "title": fit_value(text.title)},
        audience=TEXT_AUDIENCE,
        targets=[str(compound.pk)],
        idempotency_key=key,
    )
    return message, not before
