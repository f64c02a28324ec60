"""The overdue sweep holds no lock across its batch: it claims rounds in small transactions and
queues their SMS after each commit. So a handover code goes out while a sweep runs, two sweeps
at once (beat and a manual run) neither deadlock nor remind a round twice, and a sweep that
died between a claim and its SMS is made good by the next one."""

import datetime
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from messaging import budgets
from messaging.models import Allowance, Message, Recipient, SmsTemplate
from messaging.services import send_sms
from sanitation import notify, services
from sanitation.models import Round
from tests.factories import (
    AreaFactory,
    CommunityFactory,
    CompoundFactory,
    UserFactory,
    VolunteerFactory,
)

NOW = timezone.now


@pytest.fixture
def texts(db):
    SmsTemplate.objects.filter(name__in=[notify.OVERDUE, notify.ESCALATED]).update(
        code="SMS_1", approved=True
    )
    SmsTemplate.objects.get_or_create(
        name="配送交接码",
        defaults={"code": "SMS_9", "body": "交接码{code}，订单{order}。", "approved": True},
    )
    SmsTemplate.objects.filter(name="配送交接码").update(approved=True)


def overdue_rounds(compound, count: int, *, now, late_by=datetime.timedelta(hours=3)):
    """`count` open rounds of the compound whose window ended `late_by` ago (minute apart),
    each assigned to the compound's cleaner (who has a phone)."""
    area = AreaFactory(compound=compound)
    cleaner = VolunteerFactory(compound=compound)
    first = now - late_by - datetime.timedelta(hours=1)
    rows = []
    for n in range(count):
        due = first - datetime.timedelta(minutes=n)
        rows.append(
            Round(
                area=area,
                compound=compound,
                date=timezone.localtime(due).date(),
                due_at=due,
                window_ends_at=due + datetime.timedelta(hours=1),
                assignee=cleaner,
            )
        )
    return Round.objects.bulk_create(rows)


def reminders() -> list[str]:
    return list(
        Message.objects.filter(idempotency_key__startswith="sanitation:overdue:").values_list(
            "idempotency_key", flat=True
        )
    )


def test_a_sweep_that_died_before_its_sms_is_made_good_once(texts, compound_a, sms_outbox):
    now = NOW()
    rounds = overdue_rounds(compound_a, 3, now=now)
    # Claimed five minutes ago by a sweep that died before queuing anything.
    Round.objects.filter(pk=rounds[0].pk).update(reminded_at=now - datetime.timedelta(minutes=5))
    first = services.rounds_remind_overdue(now=now)
    assert first.cleaners == 3
    assert sorted(reminders()) == sorted(notify.overdue_key(r) for r in rounds)
    again = services.rounds_remind_overdue(now=now + datetime.timedelta(minutes=5))
    assert again.cleaners == 0 and len(reminders()) == 3


def test_a_claim_younger_than_the_grace_is_left_to_its_sweep(texts, compound_a, sms_outbox):
    now = NOW()
    (r,) = overdue_rounds(compound_a, 1, now=now)
    Round.objects.filter(pk=r.pk).update(reminded_at=now - datetime.timedelta(seconds=30))
    assert services.rounds_remind_overdue(now=now).cleaners == 0
    assert reminders() == []


def test_a_lost_escalation_is_sent_by_the_next_sweep_once(texts, compound_a, secretary_a):
    secretary_a.phone = "13893100099"
    secretary_a.save()
    now = NOW()
    rounds = overdue_rounds(compound_a, 2, now=now)
    escalated = now - datetime.timedelta(minutes=6)
    Round.objects.filter(pk__in=[r.pk for r in rounds]).update(
        reminded_at=now - datetime.timedelta(hours=2), escalated_at=escalated
    )
    result = services.rounds_remind_overdue(now=now)
    assert result.secretaries == 1
    message = Message.objects.get(idempotency_key__startswith="sanitation:escalated:")
    assert message.variables["count"] == "2"
    assert services.rounds_remind_overdue(now=now).secretaries == 0


def test_reminders_draw_on_the_system_allowance(texts, compound_a, community_a, sms_outbox):
    now = NOW()
    overdue_rounds(compound_a, 2, now=now)
    services.rounds_remind_overdue(now=now)
    assert set(Message.objects.values_list("allowance", flat=True)) == {Allowance.SYSTEM}
    assert budgets.budget_spent(community_a.pk, now, Allowance.SYSTEM) > 0
    assert budgets.budget_spent(community_a.pk, now) == 0


# ----------------------------------------------------------------------------- concurrency


def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_a_handover_code_goes_out_while_a_sweep_runs(texts, compound_a, secretary_a, monkeypatch):
    """The sweep is held right after it queued an escalation (today: inside the transaction that
    holds the community's budget row); meanwhile a handover code of the same community is
    written at once."""
    _postgres()
    secretary_a.phone = "13893100099"
    secretary_a.save()
    now = NOW()
    rounds = overdue_rounds(compound_a, 3, now=now)
    # The cleaner was reminded two hours ago: this sweep tells the secretary.
    Round.objects.filter(pk__in=[r.pk for r in rounds]).update(
        reminded_at=now - datetime.timedelta(hours=2)
    )
    held, resume = threading.Event(), threading.Event()
    original = notify.rounds_escalated

    def escalated_then_hold(*args, **kwargs):
        sent = original(*args, **kwargs)
        held.set()
        resume.wait(30)
        return sent

    monkeypatch.setattr(notify, "rounds_escalated", escalated_then_hold)
    errors: list[BaseException] = []

    def sweep():
        try:
            services.rounds_remind_overdue(now=now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    done = threading.Event()
    took: list[float] = []

    def handover():
        try:
            started = time.monotonic()
            send_sms(
                to="13800138000",
                template="配送交接码",
                variables={"code": "123456", "order": "1"},
                purpose="supplies_handover",
                idempotency_key="handover:during-sweep",
                urgent=True,
                place=compound_a,
                allowance=Allowance.SYSTEM,
            )
            took.append(time.monotonic() - started)
            done.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    sweeper = threading.Thread(target=sweep)
    sweeper.start()
    try:
        assert held.wait(30), "the sweep never reached its escalation"
        sender = threading.Thread(target=handover)
        sender.start()
        finished = done.wait(10)
    finally:
        resume.set()
        sweeper.join(60)
    sender.join(60)
    assert finished, "the handover code waited for the sweep"
    assert not errors
    assert took[0] < 5
    assert Message.objects.filter(idempotency_key="handover:during-sweep").exists()


@pytest.mark.django_db(transaction=True)
def test_three_sweeps_at_once_remind_every_round_exactly_once(texts, sms_outbox):
    """Three sweeps started together over two communities' rounds (more than a chunk each):
    none fails or deadlocks, every round gets one reminder."""
    _postgres()
    now = NOW()
    rounds = []
    for _ in range(2):
        compound = CompoundFactory(community=CommunityFactory())
        UserFactory(role="secretary", posted_to=compound.community)
        rounds += overdue_rounds(compound, services.SWEEP_CHUNK + 50, now=now)
    start = threading.Barrier(3)
    results = []
    errors: list[BaseException] = []

    def sweep():
        try:
            start.wait()
            results.append(services.rounds_remind_overdue(now=now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sum(r.cleaners for r in results) == len(rounds)
    keys = reminders()
    assert len(keys) == len(set(keys)) == len(rounds)
    assert sorted(keys) == sorted(notify.overdue_key(r) for r in rounds)
    assert Recipient.objects.filter(message__purpose=notify.PURPOSE).count() == len(rounds)
    assert not Round.objects.filter(reminded_at__isnull=True).exists()
