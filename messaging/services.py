"""Writing SMS: the messages other apps send (send_sms, send_sms_each, and notify_by_sms, the
one wrapper every app's notify.py sends through), campaigns composed by secretaries, their
cancellation, and the opt-out list. Each writes a message and its recipients, charged to a
community's budget (budgets.py), in one transaction; the outbox (outbox.py) sends them, and its
docstring tells how each SMS goes out exactly once.

The acting user is `by=` in every service here.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compounds.models import Community, Compound
from wuyi.lib import cn, pgcopy, pii
from wuyi.lib.errors import Refused
from wuyi.lib.iters import batched

from . import registry, rules
from .budgets import budget_charge, budget_refund
from .models import Allowance, Message, OptOut, Recipient, RecipientStatus, SmsTemplate
from .places import Place, place_of, place_of_user
from .tasks import dispatch_soon

log = logging.getLogger(__name__)

S = RecipientStatus
# Costs are kept to the tenth of a cent: one SMS is 0.045 yuan (in cents it read 0.04).
MILLI = Decimal("0.001")


def _require_composer(user: Any) -> None:
    if not rules.may_compose(user):
        raise PermissionDenied(_("Only the community secretary sends SMS campaigns."))


MSG_NO_COMMUNITY = _("Every SMS is charged to a community: choose the community that sends it.")
MSG_EMPTY = _("Nobody to send to: none of the chosen people has a mobile number.")


# ----------------------------------------------------------------------------- writing a message

Rows = Iterable[tuple[str, dict[str, str] | None]]


def _mobiles(rows: Rows, skipped: list[int]) -> Iterator[tuple[str, str | None]]:
    """The rows whose number can take an SMS, each number once (the first row's variables),
    variables as JSON; counts the others. Numbers seen are kept as ints: a city's million take
    about 50 MB, not the 100 their strings would."""
    seen: set[int] = set()
    for phone, variables in rows:
        if not cn.is_mobile(phone):
            skipped[0] += 1
            continue
        number = int(phone)
        if number in seen:
            continue
        seen.add(number)
        yield phone, (json.dumps(variables, ensure_ascii=False) if variables else None)


def _write_recipients(message: Message, rows: Rows, *, now: datetime.datetime) -> int:
    """The message's recipients, each number once: COPY on PostgreSQL (a city in seconds),
    bulk_create elsewhere."""
    constants = {
        "message_id": message.pk,
        "status": S.QUEUED,
        "urgent": message.urgent,
        "due_at": message.send_at,
        "updated_at": now,
    }
    skipped = [0]
    mobiles = _mobiles(rows, skipped)
    count = 0
    if pgcopy.available():
        writer = pgcopy.CopyWriter(Recipient, ("phone", "variables"), constants=constants)
        with connection.cursor() as cursor, connection.wrap_database_errors:
            for block in batched(mobiles, pgcopy.CHUNK):
                writer.send(cursor.cursor, writer.csv(block))
                count += len(block)
        return count
    for block in batched(mobiles, 2000):
        Recipient.objects.bulk_create(
            [
                Recipient(phone=phone, variables=json.loads(v) if v else None, **constants)
                for phone, v in block
            ]
        )
        count += len(block)
    return count


def _write_message(
    *,
    template: SmsTemplate,
    variables: dict[str, str],
    rows: Rows,
    purpose: str,
    send_at: datetime.datetime,
    urgent: bool,
    idempotency_key: str | None,
    by: User | None,
    place: Place,
    allowance: str = Allowance.CAMPAIGN,
    audience: str = "",
    description: str = "",
) -> Message:
    """Message and recipients in one transaction; the budget is charged on the real count
    (after repeats and numbers that take no SMS are dropped), last, so a refusal writes nothing
    and the budget's row is locked only while the transaction commits."""
    if place.community_id is None:
        raise Refused(MSG_NO_COMMUNITY, field="community", code="no_community")
    now = timezone.now()
    text = template.render(variables)
    unit = rules.unit_cost(text)
    with transaction.atomic():
        message = Message.objects.create(
            template=template,
            variables=variables,
            purpose=purpose[:40],
            audience=audience[:40],
            description=description[:200],
            sender=by,
            district_id=place.district_id,
            subdistrict_id=place.subdistrict_id,
            community_id=place.community_id,
            compound_id=place.compound_id,
            send_at=send_at,
            urgent=urgent,
            idempotency_key=idempotency_key or None,
            segments=rules.segments(text),
        )
        count = _write_recipients(message, rows, now=now)
        if count == 0:
            raise Refused(MSG_EMPTY, field="targets", code="empty")
        cost = (unit * count).quantize(MILLI)
        if count > 10_000:
            # The dispatcher's claim plans its index scan on statistics: tell it the truth.
            pgcopy.analyze_if_stale({Recipient: count})
        # Last: the budget's row stays locked from here to the COMMIT only.
        line = budget_charge(
            community_id=place.community_id, allowance=allowance, at=send_at, cost=cost
        )
        Message.objects.filter(pk=message.pk).update(
            recipient_count=count, cost_estimate=cost, allowance=line
        )
        message.recipient_count, message.cost_estimate, message.allowance = count, cost, line
        _dispatch_after_commit(send_at, now)
    return message


def _dispatch_after_commit(send_at: datetime.datetime, now: datetime.datetime) -> None:
    """A message due now leaves at once: the dispatcher is queued when the transaction that
    wrote it commits (tasks.dispatch_soon), not at beat's next tick, up to
    WUYI_SMS_DISPATCH_EVERY later. A message for later waits for beat; a rolled-back one
    queues nothing. Off with WUYI_SMS_DISPATCH_ON_SEND=0 (the tests drive the dispatcher)."""
    if settings.WUYI_SMS_DISPATCH_ON_SEND and send_at <= now:
        transaction.on_commit(dispatch_soon)


def _existing(idempotency_key: str | None) -> Message | None:
    if not idempotency_key:
        return None
    return Message.objects.filter(idempotency_key=idempotency_key).first()


def _template(template: SmsTemplate | str | int) -> SmsTemplate:
    if isinstance(template, SmsTemplate):
        return template
    found = SmsTemplate.objects.filter(
        Q(name=str(template))
        | Q(code=str(template))
        | Q(pk=int(template) if str(template).isdigit() else None)
    ).first()
    if found is None:
        raise Refused(_("There is no such SMS template."), field="template")
    return found


def _where(place: Compound | Community | None, allowance: str) -> Place:
    """The place a message of another app concerns (its community pays), or Refused."""
    if allowance not in Allowance.values:
        raise ValueError(f"send_sms: no such allowance {allowance!r}")
    if isinstance(place, Compound):
        return Place(place.district_id, place.subdistrict_id, place.community_id, place.pk)
    if isinstance(place, Community):
        return place_of(community_id=place.pk)
    raise Refused(MSG_NO_COMMUNITY, field="place", code="no_community")


To = str | Iterable[str | tuple[str, Mapping[str, str]]]


def _split(entry: str | tuple[str, Mapping[str, str]]) -> tuple[str, dict[str, str] | None]:
    return (entry, None) if isinstance(entry, str) else (entry[0], dict(entry[1]))


def _streamed_rows(
    tmpl: SmsTemplate, variables: Mapping[str, Any], to: To
) -> tuple[dict[str, str], Rows, str]:
    """(the message's variables, its rows, the first number) for send_sms. Streamed, not
    listed: a city's numbers go from the caller to COPY without a copy in memory. A bad number
    anywhere raises inside the transaction: nothing is written."""
    items = iter([to] if isinstance(to, str) else to)
    first = next(items, None)
    if first is None:
        raise Refused(MSG_EMPTY, field="to", code="empty")
    provided = set(_split(first)[1] or {})
    cleaned = rules.clean_variables(tmpl, variables, provided=provided)

    def rows() -> Iterator[tuple[str, dict[str, str] | None]]:
        for entry in itertools.chain([first], items):
            phone, own = _split(entry)
            try:
                number = rules.clean_phone(phone)
            except Refused as refused:
                raise Refused(refused.message, field="to") from None
            if own is not None or provided:
                every = rules.clean_variables(tmpl, {**cleaned, **(own or {})})
                own = {name: every[name] for name in provided}
            yield number, own

    return cleaned, rows(), _split(first)[0]


def send_sms(
    *,
    to: To,
    template: SmsTemplate | str | int,
    variables: Mapping[str, Any],
    purpose: str,
    idempotency_key: str,
    send_at: datetime.datetime | None = None,
    urgent: bool = False,
    by: User | None = None,
    place: Compound | Community | None = None,
    allowance: str = Allowance.CAMPAIGN,
) -> Message:
    """Send an approved template to one number or many: what other apps call (a handover code,
    an escort's time, a volunteer's login link). `to` items are numbers, or (number, that
    recipient's own variables). Returns the message; the same `idempotency_key` returns the
    first one and sends nothing more. Quiet hours, opt-outs and the budget apply. `by`: who
    sends it, when someone does (the message's sender).

    `place` names the compound or community the message concerns: its community pays, and
    without one the message is refused (every SMS is charged to a community). `allowance` says
    which of the community's lines pays: the budget (campaigns and anything not marked), the
    system allowance (a text someone needs to do their job: a handover code, a login link, a
    reminder, a pickup time) or the public one (a code a resident asked for through a link).

    Call it outside any transaction of your own (queue it with transaction.on_commit): the
    budget's row is locked from the charge to the COMMIT, so inside a batch's transaction every
    other SMS of that community would wait for the batch."""
    if not idempotency_key:
        raise ValueError("send_sms needs an idempotency_key")
    found = _existing(idempotency_key)
    if found is not None:
        return found
    where = _where(place, allowance)
    tmpl = _template(template)
    rules.check_template(tmpl)
    cleaned, rows, first = _streamed_rows(tmpl, variables, to)
    at = rules.check_send_at(send_at, now=timezone.now())
    try:
        message = _write_message(
            template=tmpl,
            variables=cleaned,
            rows=rows,
            purpose=purpose,
            send_at=at,
            urgent=urgent,
            idempotency_key=idempotency_key,
            by=by,
            place=where,
            allowance=allowance,
        )
    except IntegrityError:
        # The same key, written by a concurrent call between our check and our insert.
        found = _existing(idempotency_key)
        if found is None:
            raise
        return found
    if message.recipient_count == 1:
        message.description = cn.mask_phone(first)
        Message.objects.filter(pk=message.pk).update(description=message.description)
    return message


@dataclass(frozen=True)
class OneSms:
    """One message of a set written together by send_sms_each: one number, its variables, its
    own idempotency key."""

    to: str
    variables: Mapping[str, Any]
    idempotency_key: str


def _unused(items: Iterable[OneSms]) -> list[OneSms]:
    """The items whose key made no message yet, each key once (a few queries however many)."""
    wanted: dict[str, OneSms] = {}
    for item in items:
        if not item.idempotency_key:
            raise ValueError("send_sms_each needs an idempotency_key for every item")
        wanted.setdefault(item.idempotency_key, item)
    used: set[str] = set()
    for keys in batched(list(wanted), 500):
        found = Message.objects.filter(idempotency_key__in=keys)
        used.update(str(key) for key in found.values_list("idempotency_key", flat=True))
    return [item for key, item in wanted.items() if key not in used]


Each = tuple[OneSms, str, dict[str, str], str]  # item, number, variables, text


def _each_rows(tmpl: SmsTemplate, todo: Sequence[OneSms]) -> list[Each]:
    """The items that fit: a mobile number, variables the template takes (the others are
    logged, with no number: a caller's key may hold one)."""
    rows: list[Each] = []
    for item in todo:
        try:
            phone = rules.clean_phone(item.to)
            values = rules.clean_variables(tmpl, item.variables)
        except Refused:
            continue
        rows.append((item, phone, values, tmpl.render(values)))
    if len(rows) < len(todo):
        log.warning(
            "%d SMS (%s) not queued: a number takes no SMS or a value misfits",
            len(todo) - len(rows),
            tmpl.name,
        )
    return rows


def _write_each(
    rows: Sequence[Each],
    *,
    tmpl: SmsTemplate,
    purpose: str,
    where: Place,
    allowance: str,
    urgent: bool,
    at: datetime.datetime,
    by: User | None,
) -> list[Message]:
    """One message and one recipient per row, and one budget charge for all, in one
    transaction (over budget: nothing)."""
    now = timezone.now()
    costs = [rules.unit_cost(text).quantize(MILLI) for _i, _p, _v, text in rows]
    with transaction.atomic():
        messages = Message.objects.bulk_create(
            [
                Message(
                    template=tmpl,
                    variables=values,
                    purpose=purpose[:40],
                    description=cn.mask_phone(phone),
                    sender=by,
                    district_id=where.district_id,
                    subdistrict_id=where.subdistrict_id,
                    community_id=where.community_id,
                    compound_id=where.compound_id,
                    send_at=at,
                    urgent=urgent,
                    idempotency_key=item.idempotency_key,
                    segments=rules.segments(text),
                    recipient_count=1,
                    cost_estimate=cost,
                    allowance=allowance,
                )
                for (item, phone, values, text), cost in zip(rows, costs, strict=True)
            ],
            batch_size=1000,
        )
        Recipient.objects.bulk_create(
            [
                Recipient(
                    message_id=message.pk,
                    phone=phone,
                    status=S.QUEUED,
                    urgent=urgent,
                    due_at=at,
                    updated_at=now,
                )
                for message, (_item, phone, _v, _t) in zip(messages, rows, strict=True)
            ],
            batch_size=1000,
        )
        _dispatch_after_commit(at, now)
        # Last: the budget's row stays locked from here to the COMMIT only.
        line = budget_charge(
            community_id=where.community_id,  # type: ignore[arg-type]
            allowance=allowance,
            at=at,
            cost=sum(costs, Decimal("0")),
        )
        if line != allowance:
            Message.objects.filter(pk__in=[m.pk for m in messages]).update(allowance=line)
            for message in messages:
                message.allowance = line
    return messages


def send_sms_each(
    *,
    items: Iterable[OneSms],
    template: SmsTemplate | str | int,
    purpose: str,
    place: Compound | Community | None,
    allowance: str = Allowance.CAMPAIGN,
    urgent: bool = False,
    send_at: datetime.datetime | None = None,
    by: User | None = None,
) -> list[Message]:
    """Many messages of one template and place, each to one number with its own variables and
    key (a claim's handover codes, a sweep's reminders), as send_sms would write them one by
    one, but together: one transaction, one budget charge for all, a few queries however many.

    A key already used is skipped (so running it again sends only what is missing), as is an
    item whose number takes no SMS or whose variables do not fit (logged, with no number).
    Refused like send_sms for all at once (template, place, budget): nothing is written.
    Returns the messages written. Call it outside any transaction of your own, as send_sms."""
    where = _where(place, allowance)
    todo = _unused(items)
    if not todo:
        return []
    tmpl = _template(template)
    rules.check_template(tmpl)
    at = rules.check_send_at(send_at, now=timezone.now())
    rows = _each_rows(tmpl, todo)
    if not rows:
        return []
    try:
        return _write_each(
            rows,
            tmpl=tmpl,
            purpose=purpose,
            where=where,
            allowance=allowance,
            urgent=urgent,
            at=at,
            by=by,
        )
    except IntegrityError:
        # A key written by a concurrent call meanwhile: one by one, each key once.
        again = [
            _send_one_again(item, tmpl, purpose, place, allowance, urgent, at, by)
            for item, *_ in rows
        ]
        return [message for message in again if message is not None]


def _send_one_again(
    item: OneSms,
    template: SmsTemplate,
    purpose: str,
    place: Compound | Community | None,
    allowance: str,
    urgent: bool,
    at: datetime.datetime,
    by: User | None,
) -> Message | None:
    """send_sms for one item of a set whose joint write met a key used meanwhile: the message
    if this call wrote it, None when the key was used or the item refused."""
    if _existing(item.idempotency_key) is not None:
        return None
    try:
        message = send_sms(
            to=item.to,
            template=template,
            variables=item.variables,
            purpose=purpose,
            idempotency_key=item.idempotency_key,
            send_at=at,
            urgent=urgent,
            place=place,
            allowance=allowance,
            by=by,
        )
    except Refused as refused:
        log.warning("an SMS (%s) not queued: %s", template.name, refused.message)
        return None
    return message


def notify_by_sms(
    *,
    to: str | Sequence[OneSms],
    template: str,
    purpose: str,
    place: Compound | Community | None,
    variables: Mapping[str, Any] | None = None,
    idempotency_key: str = "",
    urgent: bool = False,
    allowance: str = Allowance.SYSTEM,
    cut: bool = False,
    by: User | None = None,
) -> int:
    """What every app's notify.py texts through: send_sms to one number (`to` a number, with
    `variables` and `idempotency_key`) or send_sms_each to many (`to` OneSms items), on the
    system allowance unless told otherwise. A refusal (template not approved, number not a
    mobile, budget spent) never stops the caller: it is logged by template (never a number or
    code) and 0 returned. `cut` shortens values too long for a provider (names, places; never
    codes or links). Returns how many were queued (a key already used counts for one number)."""
    fit = rules.fit_value if cut else (lambda value: value)
    try:
        if isinstance(to, str):
            send_sms(
                to=to,
                template=template,
                variables={name: fit(value) for name, value in (variables or {}).items()},
                purpose=purpose,
                idempotency_key=idempotency_key,
                urgent=urgent,
                place=place,
                allowance=allowance,
                by=by,
            )
            return 1
        items = [
            OneSms(i.to, {n: fit(v) for n, v in i.variables.items()}, i.idempotency_key) for i in to
        ]
        return len(
            send_sms_each(
                items=items,
                template=template,
                purpose=purpose,
                place=place,
                allowance=allowance,
                urgent=urgent,
                by=by,
            )
        )
    except Refused as refused:
        log.warning("SMS not queued (%s): %s", template, refused.message)
        return 0


@dataclass
class Draft:
    """A campaign as composed, checked, before anything is written."""

    template: SmsTemplate
    variables: dict[str, str]
    builder: registry.AudienceBuilder
    audience: registry.Audience
    send_at: datetime.datetime
    urgent: bool
    place: Place


def campaign_check(
    *,
    by: User,
    template_id: Any,
    variables: Mapping[str, Any],
    audience: str,
    targets: Sequence[str],
    send_at: datetime.datetime | None,
    urgent: bool = False,
    community: Any = None,
) -> Draft:
    """Every rule a campaign must meet, before the preview or the send: the template approved,
    the variables exactly the template's, a time not past, an audience the user may reach, a
    community that pays. Refused names each field at fault; nothing is written.

    The community that pays is the audience's when it lies in one (a compound, buildings of
    one community), else the sender's: the one they are posted to, or, for someone posted to
    several (or an administrator), the one they chose (`community`, an id they may see)."""
    _require_composer(by)
    errors: dict[str, Any] = {}
    chosen: int | None = None
    try:
        chosen = _chosen_community(by, community)
    except Refused as refused:
        errors.update(refused.errors)
    text_id = str(template_id)
    template = None
    if text_id.isdigit() and len(text_id) <= 18:
        template = SmsTemplate.objects.filter(pk=int(text_id)).first()
    if template is None:
        errors["template"] = _("Choose an SMS template.")
    built: tuple[registry.AudienceBuilder, registry.Audience] | None = None
    try:
        built = registry.build(audience, by, list(targets))
    except Refused as refused:
        errors.update(refused.errors)
    at = timezone.now()
    try:
        at = rules.check_send_at(send_at, now=at)
    except Refused as refused:
        errors.update(refused.errors)
    cleaned: dict[str, str] = {}
    if template is not None:
        try:
            rules.check_campaign_template(template)
            cleaned = rules.clean_variables(
                template, variables, provided=built[0].provides if built else ()
            )
        except Refused as refused:
            errors.update(refused.errors)
    if errors or template is None or built is None:
        raise Refused.of_fields(errors)
    builder, found = built
    if found.compound_id or found.community_id:
        place = place_of(compound_id=found.compound_id, community_id=found.community_id)
    elif chosen is not None:
        place = place_of(community_id=chosen)
    else:
        place = place_of_user(by)
        if place.community_id is None:
            only = sending_communities(by)
            if len(only) != 1:
                raise Refused(MSG_CHOOSE_COMMUNITY, field="community", code="no_community")
            place = place_of(community_id=only[0].pk)
    return Draft(template, cleaned, builder, found, at, bool(urgent), place)


MSG_CHOOSE_COMMUNITY = _("Choose the community that sends this SMS: its budget pays for it.")


def sending_communities(user: User) -> list[Community]:
    """The communities a composer may send from (and charge): those they see."""
    if not rules.may_compose(user):
        return []
    return list(Community.objects.visible_to(user).order_by("name"))


def needs_community_choice(user: User) -> bool:
    """Whether the compose form asks which community sends: the user is posted to no single
    community (several postings, or an administrator)."""
    if place_of_user(user).community_id is not None:
        return False
    return len(sending_communities(user)) > 1


def _chosen_community(user: User, value: Any) -> int | None:
    """The community the sender chose, if any: an id among those they see, else Refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if text.isdigit() and len(text) <= 18:
        pk = int(text)
        if Community.objects.visible_to(user).filter(pk=pk).exists():
            return pk
    raise Refused(MSG_CHOOSE_COMMUNITY, field="community")


def campaign_create(
    *,
    by: User,
    template_id: Any,
    variables: Mapping[str, Any],
    audience: str,
    targets: Sequence[str],
    send_at: datetime.datetime | None = None,
    urgent: bool = False,
    idempotency_key: str | None = None,
    community: Any = None,
) -> Message:
    """Write a campaign: checked as campaign_check, then the message and its recipients in one
    transaction (over budget or empty: nothing). A double submit (same key) returns the first."""
    found = _existing(idempotency_key)
    if found is not None:
        if not Message.objects.visible_to(by).filter(pk=found.pk).exists():
            raise Refused(_("This form was already sent. Open the SMS list to see it."))
        return found
    draft = campaign_check(
        by=by,
        template_id=template_id,
        variables=variables,
        audience=audience,
        targets=targets,
        send_at=send_at,
        urgent=urgent,
        community=community,
    )
    try:
        return _write_message(
            template=draft.template,
            variables=draft.variables,
            rows=draft.audience.rows,
            purpose="campaign",
            send_at=draft.send_at,
            urgent=draft.urgent,
            idempotency_key=idempotency_key,
            by=by,
            place=draft.place,
            audience=audience,
            description=draft.audience.description,
        )
    except IntegrityError:
        found = _existing(idempotency_key)
        if found is None:
            raise
        return found


MSG_NOTHING_TO_CANCEL = _("Nothing is left to cancel: every SMS of this message has gone out.")


def campaign_cancel(*, by: User, message_id: int) -> int:
    """Stop what has not gone out: the queued recipients are cancelled (those a worker holds
    already go). Returns how many were cancelled; cancelling twice cancels nothing more."""
    _require_composer(by)
    with transaction.atomic():
        message = (
            Message.objects.visible_to(by)
            .select_related("template")
            .select_for_update(of=("self",))
            .get(pk=message_id)
        )
        if message.cancelled_at is not None:
            return 0
        now = timezone.now()
        count = Recipient.objects.filter(message=message, status=S.QUEUED).update(
            status=S.CANCELLED, updated_at=now
        )
        if count == 0:
            raise Refused(MSG_NOTHING_TO_CANCEL)
        unit = rules.unit_cost(message.text)
        message.cancelled_at, message.cancelled_by = now, by
        remaining = max(message.recipient_count - count, 0)
        before = message.cost_estimate
        message.cost_estimate = (unit * remaining).quantize(MILLI)
        message.save(update_fields=["cancelled_at", "cancelled_by", "cost_estimate"])
        # What did not go out goes back to the line it was charged to.
        budget_refund(message=message, amount=before - message.cost_estimate)
    return count


# ----------------------------------------------------------------------------- opt-out


def opt_out_add(*, by: User, phone: Any, note: str = "") -> OptOut:
    """Record that a number wants no more SMS (idempotent). Only its keyed hash is kept."""
    _require_composer(by)
    try:
        number = rules.clean_phone(phone)
    except Refused as refused:
        raise Refused(refused.message, field="phone") from None
    note = cn.clean_text(note, max_length=200, field="note")
    opt_out, _created = OptOut.objects.get_or_create(
        phone_hash=pii.keyed_hash(number),
        defaults={
            "phone_last4": number[-4:],
            "note": note,
            "community_id": place_of_user(by).community_id,
            "created_by": by,
        },
    )
    return opt_out


def opt_out_remove(*, by: User, opt_out: OptOut) -> None:
    """The person asked for SMS again."""
    _require_composer(by)
    OptOut.objects.filter(pk=opt_out.pk).delete()
