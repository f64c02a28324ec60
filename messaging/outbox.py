"""The sending engine of the SMS outbox: the dispatcher's claims, the batches a worker sends,
recovery from dead workers, and delivery receipts. Messages are written by services.py.

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
   The batch id is published after the commit (by the `publish` the caller passes: tasks.py
   hands over its Celery task, so this module never imports tasks); if the broker is down the
   claim is undone and the rows wait for the next run.
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
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from wuyi.lib import cn, pii

from . import rules
from .backends import Outgoing, Receipt, Result, get_backend
from .models import Batch, EarlyReceipt, Message, OptOut, Recipient, RecipientStatus

log = logging.getLogger(__name__)

S = RecipientStatus


# ----------------------------------------------------------------------------- the dispatcher


@dataclass
class DispatchReport:
    dispatched: int = 0
    batches: int = 0
    held: int = 0
    recovered: int = 0
    broker_down: bool = False
    # Stopped with recipients still due: the workers had enough waiting, or time was up.
    more: bool = False

    def __str__(self) -> str:
        text = (
            f"dispatched {self.dispatched} recipients in {self.batches} batches, "
            f"{self.held} held for quiet hours"
        )
        if self.recovered:
            text += f", {self.recovered} recovered from stopped workers"
        if self.broker_down:
            text += "; the broker is unavailable: the rest waits in the database"
        elif self.more:
            text += "; more due, for when a worker is free"
        return text


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
    publish: Callable[[int], None],
    now: datetime.datetime | None = None,
    batch_size: int | None = None,
    max_seconds: float | None = None,
    max_batches: int | None = None,
    max_pending: int | None = None,
    wait: bool = False,
    partition: tuple[int, int] | None = None,
) -> DispatchReport:
    """Claim due recipients a batch at a time and hand each batch to the worker, until none is
    due, `max_seconds` pass or `max_batches` are out. At most `max_pending` batches wait for a
    worker at once (more would age in the queue): then it stops, or with `wait` waits. Safe to
    run twice at once, and as often as liked. `partition` (k, n) claims only ids ≡ k mod n, so
    that n dispatchers never meet. `publish(batch_id)` hands a claimed batch to a worker
    (tasks.publish_batch; a test may send it at once): raising, the claim is undone. The
    report says `more` when it stopped with recipients still due (tasks.dispatch then comes
    back behind the batches it queued)."""
    fixed_now = now
    now = now or timezone.now()
    size = batch_size or settings.WUYI_SMS_BATCH_SIZE
    pending_cap = max_pending or settings.WUYI_SMS_MAX_PENDING_BATCHES
    provider = settings.WUYI_SMS_BACKEND
    report = DispatchReport(recovered=batches_recover(now=now))
    deadline = time.monotonic() + max_seconds if max_seconds else None
    quiet = rules.in_quiet_hours(now)
    while max_batches is None or report.batches < max_batches:
        if deadline is not None and time.monotonic() > deadline:
            report.more = True
            break
        if Batch.objects.filter(state=Batch.State.CLAIMED).count() >= pending_cap:
            if not wait:
                report.more = True
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
                rest = [int(m.key) for m in outgoing[start + len(call) :]]
                _leave_to_recovery(batch_id, call, results, rest, attempts, backend, report)
                return report
            results = [settled.get(r.key, r) for r in results]
        _record(
            batch_id, results, attempts, provider=backend.name, now=timezone.now(), report=report
        )
    Batch.objects.filter(pk=batch_id, state=Batch.State.RUNNING).update(
        state=Batch.State.DONE, finished_at=timezone.now()
    )
    return report


def _leave_to_recovery(
    batch_id: int,
    call: Sequence[Outgoing],
    results: Sequence[Result],
    rest: Sequence[int],
    attempts: dict[int, int],
    backend: Any,
    report: BatchReport,
) -> None:
    """A call in doubt whose provider cannot be asked now: what is known is recorded, the
    batch is left to recovery with the call's in-flight range, and the recipients not yet
    handed over (`rest`) go back to the queue."""
    log.warning("SMS batch %s: outcome in doubt and lookup failed", batch_id)
    clear = [r for r in results if not r.uncertain]
    _record(batch_id, clear, attempts, provider=backend.name, now=timezone.now(), report=report)
    Batch.objects.filter(pk=batch_id).update(
        state=Batch.State.ABANDONED,
        inflight_low=int(call[0].key),
        inflight_high=int(call[-1].key),
    )
    _requeue_untouched(batch_id, rest)
    report.in_doubt += sum(1 for r in results if r.uncertain)


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
