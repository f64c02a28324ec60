"""Every write on the SMS outbox: messages and their recipients, the dispatcher's claims, the
batches a worker sends, receipts, cancellations, opt-outs and budgets.

How an SMS goes out exactly once
--------------------------------
The database says what is to be sent; Celery carries only batch ids.

1. A message and all its recipients are written in one transaction (COPY on PostgreSQL), after
   the rules and the budget said yes: a refusal writes nothing. Each recipient is *queued* with
   a due time. The same idempotency key never makes a second message.
2. The dispatcher (Celery beat, or ``manage.py sms_dispatch``) claims due recipients a batch at
   a time: on PostgreSQL one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`` moves them
   to *sending* under a new Batch row, so two dispatchers never claim the same row and neither
   waits for the other; elsewhere a conditional UPDATE (``WHERE status = 'queued'``) does the
   same. During quiet hours only urgent recipients are claimed; the rest wait in the table.
   The batch id is published after the commit; if the broker is down the claim is undone and
   the rows wait for the next run.
3. The task (acks late, rejected back to the queue if its worker dies) takes the batch with a
   conditional UPDATE (claimed → running): a batch delivered twice runs once. Before each call
   to the provider it writes the id range of the call (``inflight_low..high``) and a heartbeat;
   after the call it records each recipient's result and clears the range, in one transaction.
4. A batch whose heartbeat is older than the lease (WUYI_SMS_LEASE_SECONDS, longer than the
   provider timeout) belongs to a dead worker. Recovery queues again every recipient the worker
   never handed over, and asks the provider (Backend.lookup) which of the in-flight ones it
   received: those are sent, the others queued again. A provider that cannot say counts them as
   sent (recorded as such): doubling is the worse failure for a reminder.
5. Only transient failures are tried again, per recipient, after a backoff (a new due time in
   the row: no countdown task); after WUYI_SMS_MAX_ATTEMPTS they fail.

Every write that can race is conditional on the state it expects (``WHERE status = 'sending'
AND batch_id = %s``), so a late worker cannot overwrite what recovery decided.
"""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import scope_of
from accounts.models import Level, User
from compounds.models import Community, Compound
from wuyi.lib import cn, pgcopy, pii
from wuyi.lib.errors import Refused
from wuyi.lib.iters import batched
from wuyi.lib.money import yuan

from . import registry, rules
from .backends import Outgoing, Receipt, Result, get_backend
from .models import (
    Allowance,
    Batch,
    Budget,
    EarlyReceipt,
    Message,
    OptOut,
    Recipient,
    RecipientStatus,
    SmsTemplate,
    Spending,
)

log = logging.getLogger(__name__)

S = RecipientStatus
# Costs are kept to the tenth of a cent: one SMS is 0.045 yuan (in cents it read 0.04).
MILLI = Decimal("0.001")
MONEY = DecimalField(max_digits=13, decimal_places=3)


def _require_composer(user: Any) -> None:
    if not rules.may_compose(user):
        raise PermissionDenied(_("Only the community secretary sends SMS campaigns."))


# ----------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Place:
    district_id: int | None = None
    subdistrict_id: int | None = None
    community_id: int | None = None
    compound_id: int | None = None


def place_of(*, compound_id: int | None = None, community_id: int | None = None) -> Place:
    """The place a message concerns, from the district down to what is known."""
    if compound_id:
        compound = Compound.objects.get(pk=compound_id)
        return Place(
            compound.district_id, compound.subdistrict_id, compound.community_id, compound.pk
        )
    if community_id:
        community = Community.objects.select_related("subdistrict").get(pk=community_id)
        return Place(community.subdistrict.district_id, community.subdistrict_id, community.pk)
    return Place()


def place_of_user(user: Any) -> Place:
    """Where a user sends from: the one place they are posted to (none: no place)."""
    single = scope_of(user).single
    if single is None:
        return Place()
    level, pk = single
    if level == Level.COMPOUND:
        return place_of(compound_id=pk)
    if level == Level.COMMUNITY:
        return place_of(community_id=pk)
    if level == Level.SUBDISTRICT:
        from compounds.models import Subdistrict

        return Place(Subdistrict.objects.get(pk=pk).district_id, pk)
    return Place(pk)


# ----------------------------------------------------------------------------- budget
#
# Every SMS is charged to a community, on one of its budget lines (Allowance): the SMS budget
# (campaigns), the system allowance (texts people need to do their job; when it runs out they
# draw on the budget) and the public allowance (ordering codes residents ask for; never more).
# What a line spent in a month is a counter (Spending), charged by one conditional UPDATE
# (``spent + cost <= limit``) as the last statement of the transaction that writes the
# message: the row is locked only while that transaction commits, never across a batch, and
# two writers racing for the last yuan are judged one after the other (PostgreSQL re-reads the
# row the first one committed and re-checks the condition). A caller must not send inside a
# longer transaction of its own (queue the SMS on commit): the lock would last as long.

MSG_OVER_BUDGET = _(
    "This would cost about %(cost)s yuan, but only %(left)s yuan of %(community)s's SMS budget "
    "for %(month)s is left (%(limit)s yuan a month). Nothing was sent. Narrow the audience, or "
    "ask the district to raise the budget."
)
MSG_OVER_ALLOWANCE = _(
    "This would cost about %(cost)s yuan, but %(community)s's allowance for “%(line)s” for "
    "%(month)s is used up (%(limit)s yuan a month). Nothing was sent: ask the district to "
    "raise it."
)
MSG_NO_COMMUNITY = _("Every SMS is charged to a community: choose the community that sends it.")
MSG_EMPTY = _("Nobody to send to: none of the chosen people has a mobile number.")

A = Allowance
# A system text whose own allowance is used up draws on the community's budget.
FALLBACK: dict[str, tuple[str, ...]] = {
    A.CAMPAIGN: (A.CAMPAIGN,),
    A.SYSTEM: (A.SYSTEM, A.CAMPAIGN),
    A.PUBLIC: (A.PUBLIC,),
}


def month_bounds(at: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    local = timezone.localtime(at)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, timezone.make_aware(end.replace(tzinfo=None))


def month_of(at: datetime.datetime) -> datetime.date:
    """The budget month of a message sent at `at`: its first day, Asia/Shanghai."""
    return timezone.localtime(at).date().replace(day=1)


def budget_limits(community_id: int) -> dict[str, Decimal]:
    """Each line's monthly amount for the community (the settings' where none is set)."""
    found = (
        Budget.objects.filter(community_id=community_id)
        .values("monthly_amount", "system_amount", "public_amount")
        .first()
    )
    row: dict[str, Any] = dict(found) if found else {}

    def amount(value: Any, default: str) -> Decimal:
        return Decimal(default) if value is None else Decimal(value)

    return {
        A.CAMPAIGN: amount(row.get("monthly_amount"), settings.WUYI_SMS_DEFAULT_MONTHLY_BUDGET),
        A.SYSTEM: amount(row.get("system_amount"), settings.WUYI_SMS_SYSTEM_MONTHLY_BUDGET),
        A.PUBLIC: amount(row.get("public_amount"), settings.WUYI_SMS_PUBLIC_MONTHLY_BUDGET),
    }


def budget_spent(community_id: int, at: datetime.datetime, allowance: str = A.CAMPAIGN) -> Decimal:
    """What the line spent in the month of `at` (the counter messages are charged to)."""
    spent = (
        Spending.objects.filter(community_id=community_id, month=month_of(at), allowance=allowance)
        .values_list("spent", flat=True)
        .first()
    )
    return spent if spent is not None else Decimal("0")


def _take(
    community_id: int, month: datetime.date, line: str, cost: Decimal, limit: Decimal
) -> bool:
    """Charge `cost` to the line if it fits: one conditional UPDATE (the month's row is made
    the first time, ON CONFLICT DO NOTHING, by whichever writer comes first)."""
    if cost > limit:
        return False
    line_rows = Spending.objects.filter(community_id=community_id, month=month, allowance=line)
    if line_rows.filter(spent__lte=limit - cost).update(spent=F("spent") + cost):
        return True
    if line_rows.exists():
        return False
    Spending.objects.bulk_create(
        [Spending(community_id=community_id, month=month, allowance=line)],
        ignore_conflicts=True,
    )
    return bool(line_rows.filter(spent__lte=limit - cost).update(spent=F("spent") + cost))


def budget_charge(
    *, community_id: int, allowance: str, at: datetime.datetime, cost: Decimal
) -> str:
    """Charge a message's cost to the community's line for `allowance` (a system text falls
    back to the budget): the line charged. Refused when none has room; the caller's
    transaction then writes nothing."""
    month = month_of(at)
    limits = budget_limits(community_id)
    for line in FALLBACK[allowance]:
        if _take(community_id, month, line, cost, limits[line]):
            return line
    community = Community.objects.get(pk=community_id)
    limit = limits[allowance]
    left = limit - budget_spent(community_id, at, allowance)
    values = {
        "cost": yuan(cost),
        "left": yuan(max(left, Decimal("0"))),
        "limit": yuan(limit),
        "community": community.name,
        "month": timezone.localtime(at).strftime("%Y-%m"),
        "line": str(Allowance(allowance).label),
    }
    text = MSG_OVER_BUDGET if allowance == A.CAMPAIGN else MSG_OVER_ALLOWANCE
    raise Refused(text % values, code="over_budget")


def budget_refund(*, message: Message, amount: Decimal) -> None:
    """Give back to the line a message was charged to (what a cancel stopped)."""
    if message.community_id is None or amount <= 0:
        return
    Spending.objects.filter(
        community_id=message.community_id,
        month=month_of(message.send_at),
        allowance=message.allowance,
    ).update(spent=Greatest(F("spent") - amount, Value(Decimal("0")), output_field=MONEY))


def budget_set(*, user: User, community: Community, amount: Decimal, note: str = "") -> Budget:
    """District staff (or an administrator) set a community's monthly SMS budget."""
    if not (rules.may_see_daily(user)):
        raise PermissionDenied(_("Budgets are set by district staff."))
    if not Community.objects.visible_to(user).filter(pk=community.pk).exists():
        raise PermissionDenied(_("Budgets are set by district staff."))
    if amount < 0:
        raise Refused(_("A budget cannot be negative."), field="monthly_amount")
    budget, _created = Budget.objects.update_or_create(
        community=community,
        defaults={"monthly_amount": amount, "note": note[:200], "updated_at": timezone.now()},
    )
    return budget


# ----------------------------------------------------------------------------- writing a message

Rows = Iterable[tuple[str, dict[str, str] | None]]


def _mobiles(rows: Rows, skipped: list[int]) -> Iterator[tuple[str, str | None]]:
    """The rows whose number can take an SMS, each number once (the first row's variables),
    variables as JSON; counts the others. Numbers seen are kept as ints: a city's million take
    about 50 MB, not the 100 their strings would."""
    seen: set[int] = set()
    for phone, variables in rows:
        if not rules.is_mobile(phone):
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
    sender: User | None,
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
            sender=sender,
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
    return message


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


def send_sms(
    *,
    to: str | Iterable[str | tuple[str, Mapping[str, str]]],
    template: SmsTemplate | str | int,
    variables: Mapping[str, Any],
    purpose: str,
    idempotency_key: str,
    send_at: datetime.datetime | None = None,
    urgent: bool = False,
    sender: User | None = None,
    place: Compound | Community | None = None,
    allowance: str = Allowance.CAMPAIGN,
) -> Message:
    """Send an approved template to one number or many: what other apps call (a handover code,
    an escort's time, a volunteer's login link). `to` items are numbers, or (number, that
    recipient's own variables). Returns the message; the same `idempotency_key` returns the
    first one and sends nothing more. Quiet hours, opt-outs and the budget apply.

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
    if allowance not in Allowance.values:
        raise ValueError(f"send_sms: no such allowance {allowance!r}")
    if isinstance(place, Compound):
        where = Place(place.district_id, place.subdistrict_id, place.community_id, place.pk)
    elif isinstance(place, Community):
        where = place_of(community_id=place.pk)
    else:
        raise Refused(MSG_NO_COMMUNITY, field="place", code="no_community")
    tmpl = _template(template)
    rules.check_template(tmpl)
    # Streamed, not listed: a city's numbers go from the caller to COPY without a copy in
    # memory. A bad number anywhere raises inside the transaction: nothing is written.
    items = iter([to] if isinstance(to, str) else to)
    first = next(items, None)
    if first is None:
        raise Refused(MSG_EMPTY, field="to", code="empty")

    def split(entry) -> tuple[str, dict[str, str] | None]:
        return (entry, None) if isinstance(entry, str) else (entry[0], dict(entry[1]))

    provided = set(split(first)[1] or {})
    cleaned = rules.clean_variables(tmpl, variables, provided=provided)

    def rows() -> Iterator[tuple[str, dict[str, str] | None]]:
        for entry in itertools.chain([first], items):
            phone, own = split(entry)
            try:
                number = rules.clean_phone(phone)
            except Refused as refused:
                raise Refused(refused.message, field="to") from None
            if own is not None or provided:
                every = rules.clean_variables(tmpl, {**cleaned, **(own or {})})
                own = {name: every[name] for name in provided}
            yield number, own

    now = timezone.now()
    at = rules.check_send_at(send_at, now=now)
    try:
        message = _write_message(
            template=tmpl,
            variables=cleaned,
            rows=rows(),
            purpose=purpose,
            send_at=at,
            urgent=urgent,
            idempotency_key=idempotency_key,
            sender=sender,
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
        message.description = cn.mask_phone(split(first)[0])
        Message.objects.filter(pk=message.pk).update(description=message.description)
    return message


@dataclass(frozen=True)
class OneSms:
    """One message of a set written together by send_sms_each: one number, its variables, its
    own idempotency key."""

    to: str
    variables: Mapping[str, Any]
    idempotency_key: str


def send_sms_each(
    *,
    items: Iterable[OneSms],
    template: SmsTemplate | str | int,
    purpose: str,
    place: Compound | Community | None,
    allowance: str = Allowance.CAMPAIGN,
    urgent: bool = False,
    send_at: datetime.datetime | None = None,
    sender: User | None = None,
) -> list[Message]:
    """Many messages of one template and place, each to one number with its own variables and
    key (a claim's handover codes, a sweep's reminders), as send_sms would write them one by
    one, but together: one transaction, one budget charge for all, a few queries however many.

    A key already used is skipped (so running it again sends only what is missing), as is an
    item whose number takes no SMS or whose variables do not fit (logged, with no number).
    Refused like send_sms for all at once (template, place, budget): nothing is written.
    Returns the messages written. Call it outside any transaction of your own, as send_sms."""
    if allowance not in Allowance.values:
        raise ValueError(f"send_sms_each: no such allowance {allowance!r}")
    if isinstance(place, Compound):
        where = Place(place.district_id, place.subdistrict_id, place.community_id, place.pk)
    elif isinstance(place, Community):
        where = place_of(community_id=place.pk)
    else:
        raise Refused(MSG_NO_COMMUNITY, field="place", code="no_community")
    wanted: dict[str, OneSms] = {}
    for item in items:
        if not item.idempotency_key:
            raise ValueError("send_sms_each needs an idempotency_key for every item")
        wanted.setdefault(item.idempotency_key, item)
    if not wanted:
        return []
    used: set[str] = set()
    for keys in batched(list(wanted), 500):
        used.update(
            str(key)
            for key in Message.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )
    todo = [item for key, item in wanted.items() if key not in used]
    if not todo:
        return []
    tmpl = _template(template)
    rules.check_template(tmpl)
    now = timezone.now()
    at = rules.check_send_at(send_at, now=now)
    rows: list[tuple[OneSms, str, dict[str, str], str]] = []
    skipped = 0
    for item in todo:
        try:
            phone = rules.clean_phone(item.to)
            values = rules.clean_variables(tmpl, item.variables)
        except Refused:
            skipped += 1
            continue
        rows.append((item, phone, values, tmpl.render(values)))
    if skipped:
        # No key or number here: a caller's key may hold one.
        log.warning(
            "%d SMS (%s) not queued: a number takes no SMS or a value misfits", skipped, tmpl.name
        )
    if not rows:
        return []
    costs = [rules.unit_cost(text).quantize(MILLI) for _i, _p, _v, text in rows]
    try:
        with transaction.atomic():
            messages = Message.objects.bulk_create(
                [
                    Message(
                        template=tmpl,
                        variables=values,
                        purpose=purpose[:40],
                        description=cn.mask_phone(phone),
                        sender=sender,
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
    except IntegrityError:
        # A key written by a concurrent call meanwhile: one by one, each key once.
        again = [
            _send_one_again(item, tmpl, purpose, place, allowance, urgent, at) for item, *_ in rows
        ]
        return [message for message in again if message is not None]
    return messages


def _send_one_again(
    item: OneSms,
    template: SmsTemplate,
    purpose: str,
    place: Compound | Community,
    allowance: str,
    urgent: bool,
    at: datetime.datetime,
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
        )
    except Refused as refused:
        log.warning("an SMS (%s) not queued: %s", template.name, refused.message)
        return None
    return message


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
    user: User,
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
    _require_composer(user)
    errors: dict[str, Any] = {}
    chosen: int | None = None
    try:
        chosen = _chosen_community(user, community)
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
        built = registry.build(audience, user, list(targets))
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
        place = place_of_user(user)
        if place.community_id is None:
            only = sending_communities(user)
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
    user: User,
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
        if not Message.objects.visible_to(user).filter(pk=found.pk).exists():
            raise Refused(_("This form was already sent. Open the SMS list to see it."))
        return found
    draft = campaign_check(
        user=user,
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
            sender=user,
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


def campaign_cancel(*, user: User, message_id: int) -> int:
    """Stop what has not gone out: the queued recipients are cancelled (those a worker holds
    already go). Returns how many were cancelled; cancelling twice cancels nothing more."""
    _require_composer(user)
    with transaction.atomic():
        message = (
            Message.objects.visible_to(user)
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
        message.cancelled_at, message.cancelled_by = now, user
        remaining = max(message.recipient_count - count, 0)
        before = message.cost_estimate
        message.cost_estimate = (unit * remaining).quantize(MILLI)
        message.save(update_fields=["cancelled_at", "cancelled_by", "cost_estimate"])
        # What did not go out goes back to the line it was charged to.
        budget_refund(message=message, amount=before - message.cost_estimate)
    return count


# ----------------------------------------------------------------------------- opt-out

MSG_OPTED_OUT = _("%(phone)s will get no more SMS.")


def opt_out_add(*, user: User, phone: Any, note: str = "") -> OptOut:
    """Record that a number wants no more SMS (idempotent). Only its keyed hash is kept."""
    _require_composer(user)
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
            "community_id": place_of_user(user).community_id,
            "created_by": user,
        },
    )
    return opt_out


def opt_out_remove(*, user: User, opt_out: OptOut) -> None:
    """The person asked for SMS again."""
    _require_composer(user)
    OptOut.objects.filter(pk=opt_out.pk).delete()


# ----------------------------------------------------------------------------- the dispatcher


@dataclass
class DispatchReport:
    dispatched: int = 0
    batches: int = 0
    held: int = 0
    recovered: int = 0
    broker_down: bool = False

    def __str__(self) -> str:
        text = (
            f"dispatched {self.dispatched} recipients in {self.batches} batches, "
            f"{self.held} held for quiet hours"
        )
        if self.recovered:
            text += f", {self.recovered} recovered from stopped workers"
        if self.broker_down:
            text += "; the broker is unavailable: the rest waits in the database"
        return text


def _publish(batch_id: int) -> None:
    from .tasks import send_batch

    send_batch.apply_async(
        (batch_id,),
        queue=settings.WUYI_SMS_QUEUE or None,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
    )


_CLAIM_SQL = """
UPDATE messaging_recipient AS r
   SET status = 'sending', batch_id = %(batch)s, attempts = r.attempts + 1,
       updated_at = %(now)s
  FROM (SELECT id FROM messaging_recipient
         WHERE status = 'queued' AND due_at <= %(now)s {urgent} {partition}
         ORDER BY due_at, id
         LIMIT %(size)s
         FOR UPDATE SKIP LOCKED) AS picked
 WHERE r.id = picked.id
RETURNING r.id
"""


def _claim(
    *,
    now: datetime.datetime,
    size: int,
    urgent_only: bool,
    partition: tuple[int, int] | None,
    provider: str,
) -> tuple[int, int]:
    """Claim up to `size` due recipients into a new batch; (batch id, count) — count 0: none."""
    with transaction.atomic():
        batch = Batch.objects.create(provider=provider, claimed_at=now)
        if connection.vendor == "postgresql":
            statement = _CLAIM_SQL.format(
                urgent="AND urgent" if urgent_only else "",
                partition="AND id %% %(parts)s = %(part)s" if partition else "",
            )
            params: dict[str, Any] = {"batch": batch.pk, "now": now, "size": size}
            if partition:
                params["part"], params["parts"] = partition
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                count = cursor.rowcount
        else:
            due = Recipient.objects.filter(status=S.QUEUED, due_at__lte=now)
            if urgent_only:
                due = due.filter(urgent=True)
            ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:size])
            if partition:
                ids = [i for i in ids if i % partition[1] == partition[0]]
            # Conditional: a row another dispatcher took meanwhile is not taken again.
            count = Recipient.objects.filter(id__in=ids, status=S.QUEUED).update(
                status=S.SENDING, batch_id=batch.pk, attempts=F("attempts") + 1, updated_at=now
            )
        if count == 0:
            batch.delete()
            return 0, 0
        Batch.objects.filter(pk=batch.pk).update(size=count)
    return batch.pk, count


def _release(batch_id: int) -> None:
    """Undo a claim whose task could not be published: the rows wait for the next run."""
    with transaction.atomic():
        Recipient.objects.filter(batch_id=batch_id, status=S.SENDING).update(
            status=S.QUEUED, batch_id=None, attempts=F("attempts") - 1
        )
        Batch.objects.filter(pk=batch_id).update(
            state=Batch.State.ABANDONED, finished_at=timezone.now()
        )


def held_for_quiet_hours(now: datetime.datetime) -> int:
    if not rules.in_quiet_hours(now):
        return 0
    return Recipient.objects.filter(status=S.QUEUED, due_at__lte=now, urgent=False).count()


def dispatch(
    *,
    now: datetime.datetime | None = None,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    max_pending: int | None = None,
    wait: bool = False,
    partition: tuple[int, int] | None = None,
    publish: Callable[[int], None] | None = None,
) -> DispatchReport:
    """Claim due recipients a batch at a time and hand each batch to the worker, until none is
    due, `max_seconds` pass or `max_batches` are out. At most `max_pending` batches wait for a
    worker at once (more would age in the queue): then it stops, or with `wait` waits. Safe to
    run twice at once, and as often as liked. `partition` (k, n) claims only ids ≡ k mod n, so
    that n dispatchers never meet."""
    fixed_now = now
    now = now or timezone.now()
    size = batch_size or settings.WUYI_SMS_BATCH_SIZE
    pending_cap = max_pending or settings.WUYI_SMS_MAX_PENDING_BATCHES
    publish = publish or _publish
    provider = settings.WUYI_SMS_BACKEND
    report = DispatchReport(recovered=batches_recover(now=now))
    deadline = time.monotonic() + max_seconds if max_seconds else None
    quiet = rules.in_quiet_hours(now)
    while max_batches is None or report.batches < max_batches:
        if deadline is not None and time.monotonic() > deadline:
            break
        if Batch.objects.filter(state=Batch.State.CLAIMED).count() >= pending_cap:
            if not wait:
                break
            time.sleep(0.02)
            continue
        if fixed_now is None:
            now = timezone.now()
        batch_id, count = _claim(
            now=now, size=size, urgent_only=quiet, partition=partition, provider=provider
        )
        if not count:
            break
        try:
            publish(batch_id)
        except Exception:
            log.warning("SMS batch %s not published: the broker is unavailable", batch_id)
            _release(batch_id)
            report.broker_down = True
            break
        report.dispatched += count
        report.batches += 1
    report.held = held_for_quiet_hours(now)
    return report


# ----------------------------------------------------------------------------- a batch


@dataclass
class BatchReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    cancelled: int = 0
    in_doubt: int = 0
    skipped: bool = False
    errors: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.skipped:
            return "batch already taken"
        return (
            f"sent {self.sent}, failed {self.failed}, retry {self.retried}, "
            f"opted out {self.suppressed}, cancelled {self.cancelled}"
        )


def _throttle(provider: str, count: int) -> None:
    """The global rate limit per provider (WUYI_SMS_RATE_LIMIT numbers a second, shared by
    every worker through the cache): wait for the next second when this one is full."""
    limit = settings.WUYI_SMS_RATE_LIMIT
    if not limit:
        return
    while True:
        window = int(time.time())
        key = f"wuyi:sms-rate:{provider}:{window}"
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key, count)
        except ValueError:
            used = count
        if used <= limit or used == count:
            return
        time.sleep(max(0.0, window + 1 - time.time()))


def _outgoing(rows, messages: dict[int, Message]) -> list[Outgoing]:
    """What to hand the provider. A message's text and parameters are worked out once and
    shared by its recipients without variables of their own (nearly all of a campaign's)."""
    shared: dict[int, tuple[str, dict[str, str], str]] = {}

    def render(message: Message, own: dict[str, str] | None) -> tuple[str, dict[str, str], str]:
        template = message.template
        values = {**message.variables, **(own or {})}
        params = {name: values.get(name, "") for name in template.variables}
        return template.code, params, template.render(values)

    out = []
    for pk, phone, own, message_id in rows:
        message = messages[message_id]
        if own:
            code, params, text = render(message, own)
        else:
            if message_id not in shared:
                shared[message_id] = render(message, None)
            code, params, text = shared[message_id]
        out.append(Outgoing(key=str(pk), phone=phone, template_code=code, params=params, text=text))
    return out


def _mark(owner: int, ids: Sequence[int], **values: Any) -> int:
    """Set the same values on these rows, if batch `owner` still holds them."""
    if not ids:
        return 0
    return Recipient.objects.filter(id__in=ids, batch_id=owner, status=S.SENDING).update(**values)


def _mark_each(owner: int, column: str, rows: Sequence[tuple[int, str]], **values: Any) -> int:
    """Set `column` per row (provider ids, errors) and `values` on all, if batch `owner` still
    holds them.
    One statement on PostgreSQL (a join with two arrays unnested: two parameters however many
    rows), one UPDATE per row elsewhere."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return sum(_mark(owner, [pk], **{column: value}, **values) for pk, value in rows)
    from psycopg2 import sql

    assignments = sql.SQL(", ").join(
        [sql.SQL("{} = v.val").format(sql.Identifier(column))]
        + [
            sql.SQL("{} = {}").format(sql.Identifier(n), sql.Placeholder(f"set_{n}"))
            for n in values
        ]
    )
    statement = sql.SQL(
        "UPDATE messaging_recipient AS t SET {} "
        "FROM unnest(%(ids)s::bigint[], %(vals)s::text[]) AS v (id, val) "
        "WHERE t.id = v.id AND t.batch_id = %(owner)s AND t.status = 'sending'"
    ).format(assignments)
    params = {
        # str(): a TextChoices member is a str psycopg2 does not know.
        **{f"set_{n}": str(v) if isinstance(v, str) else v for n, v in values.items()},
        "ids": [pk for pk, _value in rows],
        "vals": [value for _pk, value in rows],
        "owner": owner,
    }
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.cursor), params)
        return cursor.rowcount


def _record(
    batch_id: int,
    results: Sequence[Result],
    attempts: dict[int, int],
    *,
    provider: str,
    now: datetime.datetime,
    report: BatchReport,
) -> None:
    """One call's results, in one transaction with clearing the batch's in-flight range."""
    sent = [(int(r.key), r.provider_id) for r in results if r.ok]
    failed: list[tuple[int, str]] = []
    retry: dict[datetime.datetime, list[tuple[int, str]]] = {}
    for r in results:
        if r.ok:
            continue
        pk = int(r.key)
        report.errors[r.error] = report.errors.get(r.error, 0) + 1
        if r.transient and attempts.get(pk, 1) < settings.WUYI_SMS_MAX_ATTEMPTS:
            due = now + rules.retry_delay(attempts.get(pk, 1))
            retry.setdefault(due, []).append((pk, r.error[:200]))
        else:
            failed.append((pk, r.error[:200]))
    with transaction.atomic():
        report.sent += _mark_each(
            batch_id,
            "provider_id",
            sent,
            status=S.SENT,
            provider=provider,
            sent_at=now,
            last_error="",
            updated_at=now,
        )
        report.failed += _mark_each(
            batch_id, "last_error", failed, status=S.FAILED, provider=provider, updated_at=now
        )
        for due, rows in retry.items():
            report.retried += _mark_each(
                batch_id,
                "last_error",
                rows,
                status=S.QUEUED,
                batch_id=None,
                due_at=due,
                updated_at=now,
            )
        Batch.objects.filter(pk=batch_id).update(
            inflight_low=None, inflight_high=None, heartbeat_at=now
        )
        # Receipts that came before this record was written.
        _apply_early(provider, (pid for _pk, pid in sent))


def _settle_in_doubt(
    backend, doubtful: Sequence[Outgoing], results_by_key: dict[str, Result]
) -> list[Result]:
    """Results for calls that may or may not have arrived: ask the provider (lookup) before
    anything is sent again. Raises when the provider cannot be asked now."""
    found = backend.lookup(doubtful)
    settled = []
    for m in doubtful:
        if found is None:
            settled.append(Result(m.key, ok=True, error="outcome unknown; counted as sent"))
        elif m.key in found:
            settled.append(Result(m.key, ok=True, provider_id=found[m.key]))
        else:
            error = results_by_key[m.key].error if m.key in results_by_key else "not received"
            settled.append(Result(m.key, ok=False, transient=True, error=error))
    return settled


def _opted_out(hashes: set[str]) -> set[str]:
    """The hashes on the opt-out list: one array parameter on PostgreSQL, not a thousand."""
    if not hashes:
        return set()
    if connection.vendor != "postgresql":
        return set(
            OptOut.objects.filter(phone_hash__in=hashes).values_list("phone_hash", flat=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phone_hash FROM {OptOut._meta.db_table} WHERE phone_hash = ANY(%s)",  # noqa: S608
            [list(hashes)],
        )
        return {row[0] for row in cursor.fetchall()}


def batch_send(*, batch_id: int) -> BatchReport:
    """Send one claimed batch (the task's body). Runs once however often it is delivered."""
    report = BatchReport()
    now = timezone.now()
    taken = Batch.objects.filter(pk=batch_id, state=Batch.State.CLAIMED).update(
        state=Batch.State.RUNNING, started_at=now, heartbeat_at=now
    )
    if not taken:
        report.skipped = True
        return report
    batch = Batch.objects.get(pk=batch_id)
    backend = get_backend(batch.provider)
    rows = list(
        Recipient.objects.filter(batch_id=batch_id, status=S.SENDING)
        .order_by("id")
        .values_list("id", "phone", "variables", "message_id", "attempts")
    )
    messages = {
        m.pk: m
        for m in Message.objects.filter(pk__in={r[3] for r in rows}).select_related("template")
    }
    attempts = {r[0]: r[4] for r in rows}
    # Cancelled since the claim: not sent.
    cancelled = {r[0] for r in rows if messages[r[3]].cancelled_at is not None}
    report.cancelled = _mark(batch_id, list(cancelled), status=S.CANCELLED, updated_at=now)
    # Opted out (the list is checked at sending time, so a number that opted out after the
    # campaign was written is still spared): one query for the batch.
    live = [r for r in rows if r[0] not in cancelled]
    hashes = dict(zip([r[0] for r in live], pii.keyed_hashes(r[1] for r in live), strict=True))
    opted = _opted_out(set(hashes.values()))
    suppressed = [pk for pk, h in hashes.items() if h in opted]
    report.suppressed = _mark(batch_id, suppressed, status=S.SUPPRESSED, updated_at=now)
    skip = cancelled | set(suppressed)
    outgoing = _outgoing([r[:4] for r in rows if r[0] not in skip], messages)
    for start in range(0, len(outgoing), backend.max_batch):
        call = outgoing[start : start + backend.max_batch]
        _throttle(backend.name, len(call))
        # The heartbeat and the in-flight range, committed before the call: if this worker
        # dies now, recovery knows exactly which recipients the provider may have.
        alive = Batch.objects.filter(pk=batch_id, state=Batch.State.RUNNING).update(
            inflight_low=int(call[0].key),
            inflight_high=int(call[-1].key),
            heartbeat_at=timezone.now(),
        )
        if not alive:
            break  # recovery took the batch over (this worker stalled past the lease)
        results = backend.send(call)
        doubtful = [m for m, r in zip(call, results, strict=True) if r.uncertain]
        if doubtful:
            by_key = {r.key: r for r in results}
            try:
                settled = {r.key: r for r in _settle_in_doubt(backend, doubtful, by_key)}
            except Exception:
                # The provider cannot be asked now: the batch is left to recovery with its
                # in-flight range, the recipients not yet handed over go back to the queue.
                log.warning("SMS batch %s: outcome in doubt and lookup failed", batch_id)
                clear = [r for r in results if not r.uncertain]
                _record(
                    batch_id,
                    clear,
                    attempts,
                    provider=backend.name,
                    now=timezone.now(),
                    report=report,
                )
                Batch.objects.filter(pk=batch_id).update(
                    state=Batch.State.ABANDONED,
                    inflight_low=int(call[0].key),
                    inflight_high=int(call[-1].key),
                )
                rest = [int(m.key) for m in outgoing[start + len(call) :]]
                _requeue_untouched(batch_id, rest)
                report.in_doubt += len(doubtful)
                return report
            results = [settled.get(r.key, r) for r in results]
        _record(
            batch_id, results, attempts, provider=backend.name, now=timezone.now(), report=report
        )
    Batch.objects.filter(pk=batch_id, state=Batch.State.RUNNING).update(
        state=Batch.State.DONE, finished_at=timezone.now()
    )
    return report


def _requeue_untouched(batch_id: int, ids: Sequence[int]) -> int:
    """Rows a batch never handed to the provider: queued again, that claim not counted."""
    if not ids:
        return 0
    return Recipient.objects.filter(id__in=ids, batch_id=batch_id, status=S.SENDING).update(
        status=S.QUEUED, batch_id=None, attempts=F("attempts") - 1, updated_at=timezone.now()
    )


def batches_recover(*, now: datetime.datetime | None = None, limit: int = 100) -> int:
    """Give back what dead workers held (a batch whose heartbeat is older than the lease, or
    claimed and never started): recipients never handed over are queued again; those in the
    call under way are settled by asking the provider. Returns the recipients recovered."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.WUYI_SMS_LEASE_SECONDS)
    stale = Batch.objects.filter(
        Q(state=Batch.State.RUNNING, heartbeat_at__lt=cutoff)
        | Q(state=Batch.State.CLAIMED, claimed_at__lt=cutoff)
        | Q(state=Batch.State.ABANDONED, inflight_low__isnull=False)
    ).values_list("pk", flat=True)[:limit]
    recovered = 0
    for batch_id in list(stale):
        recovered += _recover_one(batch_id, cutoff=cutoff, now=now)
    return recovered


def _recover_one(batch_id: int, *, cutoff: datetime.datetime, now: datetime.datetime) -> int:
    # Take the batch first (conditional: a worker that starts or beats meanwhile keeps it).
    took = Batch.objects.filter(
        Q(pk=batch_id)
        & (
            Q(state=Batch.State.RUNNING, heartbeat_at__lt=cutoff)
            | Q(state=Batch.State.CLAIMED, claimed_at__lt=cutoff)
            | Q(state=Batch.State.ABANDONED, inflight_low__isnull=False)
        )
    ).update(state=Batch.State.ABANDONED, finished_at=now)
    if not took:
        return 0
    batch = Batch.objects.get(pk=batch_id)
    held = Recipient.objects.filter(batch_id=batch_id, status=S.SENDING)
    recovered = 0
    if batch.inflight_low is not None:
        rows = list(
            held.filter(id__gte=batch.inflight_low, id__lte=batch.inflight_high)
            .order_by("id")
            .values_list("id", "phone", "variables", "message_id", "attempts")
        )
        if rows:
            messages = {
                m.pk: m
                for m in Message.objects.filter(pk__in={r[3] for r in rows}).select_related(
                    "template"
                )
            }
            doubtful = _outgoing([r[:4] for r in rows], messages)
            backend = get_backend(batch.provider)
            try:
                results = _settle_in_doubt(backend, doubtful, {})
            except Exception:
                log.warning("SMS batch %s: the provider cannot be asked yet", batch_id)
                untouched = held.exclude(id__gte=batch.inflight_low, id__lte=batch.inflight_high)
                return _requeue_untouched(batch_id, list(untouched.values_list("id", flat=True)))
            report = BatchReport()
            _record(
                batch_id,
                results,
                {r[0]: r[4] for r in rows},
                provider=backend.name,
                now=now,
                report=report,
            )
            recovered += len(rows)
    rest = list(held.values_list("id", flat=True))
    recovered += _requeue_untouched(batch_id, rest)
    Batch.objects.filter(pk=batch_id).update(inflight_low=None, inflight_high=None)
    return recovered


# ----------------------------------------------------------------------------- receipts


EARLY_RECEIPT_DAYS = 3  # a receipt naming no SMS we sent is kept this long


def _receipt_phone(receipt: Receipt) -> str | None:
    """The receipt's number normalised ("" when it names none; None when it is not one)."""
    if not receipt.phone:
        return ""
    try:
        return cn.normalize_phone(receipt.phone)
    except cn.NormalizeError:
        return None


def _apply_receipt(
    provider: str, receipt: Receipt, phone: str, now: datetime.datetime
) -> tuple[int, bool]:
    """(rows changed, whether the receipt names an SMS recorded as sent).

    A receipt applies to an SMS without one yet, or over a receipt the provider reported
    earlier (its own time, `reported_at`): the later one wins, whatever order they arrive in;
    at the same time "delivered" wins over "failed". A receipt without a time only fills in
    an SMS that has none. Told twice, it changes nothing the second time."""
    rows = Recipient.objects.filter(provider=provider, provider_id=receipt.provider_id)
    if phone:
        rows = rows.filter(phone=phone)
    at = receipt.at
    applies = Q(status=S.SENT)
    if at is not None:
        told = [S.DELIVERED, S.FAILED]
        applies |= Q(status__in=told, reported_at__isnull=True) | Q(
            status__in=told, reported_at__lt=at
        )
        if receipt.delivered:
            applies |= Q(status=S.FAILED, reported_at=at)
    if receipt.delivered:
        changed = rows.filter(applies).update(
            status=S.DELIVERED,
            delivered_at=at or now,
            reported_at=at,
            last_error="",
            updated_at=now,
        )
    else:
        changed = rows.filter(applies).update(
            status=S.FAILED,
            delivered_at=None,
            reported_at=at,
            last_error=(receipt.error or "undelivered")[:200],
            updated_at=now,
        )
    return changed, bool(changed) or rows.exists()


def receipts_apply(*, provider: str, receipts: Sequence[Receipt]) -> int:
    """Delivery receipts: a sent SMS becomes delivered or failed (see _apply_receipt for which
    receipt wins). A receipt that names no SMS recorded as sent (the provider was quicker
    than the worker recording its call) is kept and applied when the send is recorded, not
    dropped: the provider does not send it again. Returns the rows changed."""
    now = timezone.now()
    updated = 0
    early: list[EarlyReceipt] = []
    for receipt in receipts:
        if not receipt.provider_id:
            continue
        phone = _receipt_phone(receipt)
        if phone is None:
            continue
        changed, known = _apply_receipt(provider, receipt, phone, now)
        updated += changed
        if not known:
            early.append(
                EarlyReceipt(
                    provider=provider,
                    provider_id=receipt.provider_id[:64],
                    phone=phone,
                    delivered=receipt.delivered,
                    error=(receipt.error or "")[:200],
                    at=receipt.at,
                    received_at=now,
                )
            )
    if early:
        EarlyReceipt.objects.bulk_create(early)
    return updated


def _apply_early(provider: str, provider_ids: Iterable[str]) -> int:
    """Apply the kept receipts of SMS just recorded as sent (in the recording transaction),
    and let them go. One query when there are none (the usual case)."""
    ids = sorted({pid for pid in provider_ids if pid})
    if not ids:
        return 0
    kept = EarlyReceipt.objects.filter(provider=provider)
    if connection.vendor == "postgresql":
        # One array parameter for a thousand ids.
        kept = kept.extra(where=["provider_id = ANY(%s)"], params=[ids])
    else:
        kept = kept.filter(provider_id__in=ids)
    return _apply_kept(list(kept.order_by("at", "id")))


def _apply_kept(kept: Sequence[EarlyReceipt]) -> int:
    now = timezone.now()
    applied: list[int] = []
    updated = 0
    for row in kept:
        receipt = Receipt(
            provider_id=row.provider_id,
            delivered=row.delivered,
            phone=row.phone,
            error=row.error,
            at=row.at,
        )
        changed, known = _apply_receipt(row.provider, receipt, row.phone, now)
        updated += changed
        if known:
            applied.append(row.pk)
    if applied:
        EarlyReceipt.objects.filter(pk__in=applied).delete()
    return updated


def receipts_settle(*, now: datetime.datetime | None = None, limit: int = 5000) -> int:
    """Kept receipts whose send is recorded by now (one that arrived while the worker was
    committing its call is seen here), and those too old to wait for: let go. Returns the
    rows changed."""
    now = now or timezone.now()
    EarlyReceipt.objects.filter(
        received_at__lt=now - datetime.timedelta(days=EARLY_RECEIPT_DAYS)
    ).delete()
    kept = list(EarlyReceipt.objects.order_by("id")[:limit])
    if not kept:
        return 0
    known = set(
        Recipient.objects.filter(
            provider__in={r.provider for r in kept},
            provider_id__in={r.provider_id for r in kept},
        )
        .values_list("provider", "provider_id")
        .distinct()
    )
    due = [r for r in kept if (r.provider, r.provider_id) in known]
    return _apply_kept(sorted(due, key=lambda r: (r.at is None, r.at, r.pk)))


def receipts_poll(*, limit: int = 200) -> int:
    """Pull receipts where the provider offers it (Tencent pulls its queue; Aliyun is asked
    number by number about SMS sent a while ago without a receipt)."""
    backend = get_backend()
    now = timezone.now()
    pending: list[tuple[str, str, datetime.datetime]] = []
    if backend.name == "aliyun":
        rows = (
            Recipient.objects.filter(
                provider=backend.name,
                status=S.SENT,
                sent_at__lt=now - datetime.timedelta(minutes=5),
                sent_at__gt=now - datetime.timedelta(days=3),
            )
            .exclude(provider_id="")
            .values_list("phone", "provider_id", "sent_at")[:limit]
        )
        pending = [(phone, pid, at) for phone, pid, at in rows if at is not None]
    receipts = backend.poll_receipts(pending)
    return receipts_apply(provider=backend.name, receipts=receipts) + receipts_settle(now=now)
