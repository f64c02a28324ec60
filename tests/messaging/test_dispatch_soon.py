"""A message due now leaves at once: writing it queues the dispatcher when the transaction
commits (not at beat's next tick, up to WUYI_SMS_DISPATCH_EVERY later), one dispatch queued
however many messages ask, and a dispatch that stops with more due queues itself again behind
its batches. A broker or cache that is down costs the wait for beat, never the message."""

import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from messaging import outbox as engine
from messaging import services, tasks
from messaging.models import Batch, Budget, Message, Recipient
from messaging.services import OneSms
from tests.messaging.conftest import run_dispatch, send_one
from wuyi.lib.errors import Refused

VARS = {"gate": "东门", "round": "3"}


@pytest.fixture
def queued(settings):
    """Dispatch on send on (the tests' default is off); what dispatch_soon hands the broker is
    recorded instead."""
    settings.WUYI_SMS_DISPATCH_ON_SEND = True
    settings.WUYI_SMS_QUEUE = "sms-test"
    cache.delete_many([tasks.QUEUED_KEY, tasks.RECENT_KEY])
    with mock.patch.object(tasks.dispatch, "apply_async") as sent:
        yield sent
    cache.delete_many([tasks.QUEUED_KEY, tasks.RECENT_KEY])


def test_a_message_due_now_queues_one_dispatch_when_it_commits(
    queued, template, compound_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        send_one(template, compound_a, key="a")
    assert not queued.called  # nothing before the COMMIT: the rows must be there to claim
    for callback in waiting:
        callback()
    queued.assert_called_once_with(queue="sms-test", countdown=0, retry=False)
    # A second message before that dispatch has begun: the one queued will find it too.
    with django_capture_on_commit_callbacks(execute=True):
        send_one(template, compound_a, key="b", to="13800000002")
    assert queued.call_count == 1
    # Once it has begun, the next message queues another, spaced: within a second of the
    # first, all the messages written meanwhile share it.
    began()
    cache.set(tasks.RECENT_KEY, 1, timeout=60)  # still within that second, however slow the test
    with django_capture_on_commit_callbacks(execute=True):
        send_one(template, compound_a, key="c", to="13800000003")
        send_one(template, compound_a, key="d", to="13800000004")
    assert queued.call_count == 2
    assert queued.call_args.kwargs["countdown"] == tasks.SPACING
    # A second later (the mark gone), a message goes at once again.
    began()
    cache.delete(tasks.RECENT_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        send_one(template, compound_a, key="e", to="13800000005")
    assert queued.call_count == 3 and queued.call_args.kwargs["countdown"] == 0


def began(report=None):
    """The queued dispatch begins (its claims replaced by `report`)."""
    with mock.patch.object(
        tasks.outbox, "dispatch", return_value=report or engine.DispatchReport()
    ):
        tasks.dispatch()


def test_many_messages_written_together_queue_one_dispatch(
    queued, template, compound_a, django_capture_on_commit_callbacks
):
    items = [
        OneSms(to=f"1380000001{n}", variables=VARS, idempotency_key=f"m:{n}") for n in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        written = services.send_sms_each(
            items=items, template=template, purpose="t", place=compound_a
        )
    assert len(written) == 3
    assert queued.call_count == 1


def test_a_message_for_later_waits_for_beat(
    queued, template, compound_a, django_capture_on_commit_callbacks
):
    later = timezone.now() + datetime.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_one(template, compound_a, key="later", send_at=later)
    assert callbacks == [] and not queued.called
    assert Recipient.objects.get().due_at == later


def test_a_refused_message_queues_nothing(
    queued, template, compound_a, community_a, django_capture_on_commit_callbacks
):
    Budget.objects.create(community=community_a, monthly_amount=Decimal("0.01"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Refused):
            send_one(template, compound_a, key="over")
        items = [OneSms(to="13800000011", variables=VARS, idempotency_key="each")]
        with pytest.raises(Refused):
            services.send_sms_each(items=items, template=template, purpose="t", place=compound_a)
    assert callbacks == [] and not queued.called
    assert not Message.objects.exists()


def test_off_the_message_waits_for_beat(
    queued, settings, template, compound_a, django_capture_on_commit_callbacks
):
    settings.WUYI_SMS_DISPATCH_ON_SEND = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send_one(template, compound_a, key="off")
    assert callbacks == [] and not queued.called


def test_a_dispatch_stopped_with_more_due_comes_back_and_one_that_emptied_it_does_not(
    queued, template, compound_a
):
    for n in range(3):
        send_one(template, compound_a, key=f"k{n}", to=f"1380000002{n}")
    # A batch waits for a worker (published, not taken), as many as may: it stops there and
    # says more is due.
    waiting = []
    report = engine.dispatch(publish=waiting.append, batch_size=1, max_pending=1)
    assert (report.dispatched, report.batches, report.more) == (1, 1, True)
    assert "more due" in str(report)
    assert Batch.objects.get(pk=waiting[0]).state == Batch.State.CLAIMED
    cache.add(tasks.RECENT_KEY, 1, timeout=60)  # a message's dispatch went a moment ago
    began(report)
    # Behind the batches it queued, at once: they space it, not the clock.
    queued.assert_called_once_with(queue="sms-test", countdown=0, retry=False)
    # A pass that sends everything due stops there: nothing more queued.
    cache.delete(tasks.QUEUED_KEY)
    engine.batch_send(batch_id=waiting[0])  # a worker takes it
    done = run_dispatch(batch_size=2)
    assert (done.dispatched, done.batches, done.more) == (2, 1, False)
    began(done)
    assert queued.call_count == 1
    assert Recipient.objects.filter(status="sent").count() == 3


def test_a_broker_that_is_down_costs_the_wait_for_beat_not_the_message(
    queued, template, compound_a, django_capture_on_commit_callbacks
):
    queued.side_effect = OSError("broker down")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_one(template, compound_a, key="down")
    assert message.recipient_count == 1
    assert Recipient.objects.get().status == "queued"  # beat's dispatch finds it
    # The key was let go: with the broker back, the next message queues a dispatch.
    queued.side_effect = None
    cache.delete(tasks.RECENT_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        send_one(template, compound_a, key="up", to="13800000002")
    assert queued.call_count == 2


def test_a_cache_that_is_down_costs_the_wait_for_beat_not_the_message(
    queued, template, compound_a, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(tasks.cache, "add", side_effect=ConnectionError("cache down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = send_one(template, compound_a, key="nocache")
    assert message.recipient_count == 1 and not queued.called


def test_a_lost_dispatch_holds_the_next_ones_back_no_longer_than_beats_interval(queued, settings):
    with mock.patch.object(tasks.cache, "add", wraps=tasks.cache.add) as add:
        assert tasks.dispatch_soon() is True
    assert add.call_args_list[0] == mock.call(tasks.QUEUED_KEY, 1, timeout=tasks.QUEUED_SECONDS)
    every = settings.CELERY_BEAT_SCHEDULE["dispatch-sms"]["schedule"].total_seconds()
    assert 0 < tasks.QUEUED_SECONDS <= every
    # Lost (never begun): while its key lasts nothing more is queued; after, the next is.
    assert tasks.dispatch_soon() is False
    cache.delete(tasks.QUEUED_KEY)  # its QUEUED_SECONDS are up
    assert tasks.dispatch_soon() is True
