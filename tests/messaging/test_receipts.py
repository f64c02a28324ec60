"""Delivery receipts as providers really send them: sometimes before the worker has recorded
the send, and not always in the order the provider wrote them. A receipt that comes early is
kept and applied when the send is recorded; the later one by the provider's own time wins."""

import datetime
import json

import pytest
from django.utils import timezone

from messaging import outbox
from messaging.backends import Receipt
from messaging.backends.base import sign
from messaging.models import EarlyReceipt, Recipient
from tests.messaging.conftest import run_dispatch, send_one

T0 = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC)


def test_a_receipt_before_its_send_is_kept_and_applied_when_the_send_is_recorded(
    template, compound_a
):
    send_one(template, compound_a)
    published: list[int] = []
    outbox.dispatch(publish=published.append)  # claimed; the worker has not run yet
    recipient = Recipient.objects.get()
    assert recipient.status == "sending"
    # The provider answers quicker than our worker records its call.
    early = Receipt(provider_id=f"locmem-{recipient.pk}", delivered=True, at=T0)
    assert outbox.receipts_apply(provider="locmem", receipts=[early]) == 0
    assert EarlyReceipt.objects.count() == 1
    outbox.batch_send(batch_id=published[0])
    recipient.refresh_from_db()
    assert recipient.status == "delivered" and recipient.delivered_at == T0
    assert not EarlyReceipt.objects.exists()


def test_a_webhook_receipt_that_races_the_record_is_settled_by_the_poll(
    settings, client, template, compound_a
):
    """The receipt is kept even when the record's own look for kept receipts ran first (the
    two committed at the same moment): the periodic settle applies it."""
    settings.WUYI_SMS_HTTP_SECRET = "hook-secret"
    send_one(template, compound_a)
    body = json.dumps(
        {"receipts": [{"message_id": "g-7", "status": "failed", "error": "UNDELIV"}]}
    ).encode()
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign("hook-secret", body).items()
    }
    response = client.post(
        "/messaging/receipts/http/", body, content_type="application/json", **headers
    )
    assert response.status_code == 200
    assert EarlyReceipt.objects.get().provider_id == "g-7"
    run_dispatch()
    Recipient.objects.update(provider="http", provider_id="g-7")
    assert outbox.receipts_settle() == 1
    recipient = Recipient.objects.get()
    assert recipient.status == "failed" and recipient.last_error == "UNDELIV"
    assert not EarlyReceipt.objects.exists()


@pytest.mark.parametrize("order", ["failed first", "delivered first"])
def test_a_later_delivered_receipt_wins_over_an_earlier_failed_one(template, compound_a, order):
    send_one(template, compound_a)
    run_dispatch()
    recipient = Recipient.objects.get()
    pid = recipient.provider_id
    failed = Receipt(provider_id=pid, delivered=False, error="TIMEOUT", at=T0)
    delivered = Receipt(provider_id=pid, delivered=True, at=T0 + datetime.timedelta(minutes=3))
    pair = [failed, delivered] if order == "failed first" else [delivered, failed]
    for receipt in pair:
        outbox.receipts_apply(provider="locmem", receipts=[receipt])
    recipient.refresh_from_db()
    assert recipient.status == "delivered"
    assert recipient.delivered_at == delivered.at and recipient.last_error == ""


@pytest.mark.parametrize("order", ["failed first", "delivered first"])
def test_a_later_failed_receipt_wins_over_an_earlier_delivered_one(template, compound_a, order):
    send_one(template, compound_a)
    run_dispatch()
    pid = Recipient.objects.get().provider_id
    delivered = Receipt(provider_id=pid, delivered=True, at=T0)
    failed = Receipt(
        provider_id=pid, delivered=False, error="REJECTD", at=T0 + datetime.timedelta(1)
    )
    pair = [failed, delivered] if order == "failed first" else [delivered, failed]
    for receipt in pair:
        outbox.receipts_apply(provider="locmem", receipts=[receipt])
    recipient = Recipient.objects.get()
    assert recipient.status == "failed" and recipient.last_error == "REJECTD"
    assert recipient.delivered_at is None


@pytest.mark.parametrize("order", ["failed first", "delivered first"])
def test_both_orders_of_an_early_pair_end_the_same(template, compound_a, order):
    """The pair arrives before the send is recorded, in either order."""
    send_one(template, compound_a)
    published: list[int] = []
    outbox.dispatch(publish=published.append)
    pid = f"locmem-{Recipient.objects.get().pk}"
    failed = Receipt(provider_id=pid, delivered=False, error="TIMEOUT", at=T0)
    delivered = Receipt(provider_id=pid, delivered=True, at=T0 + datetime.timedelta(minutes=3))
    pair = [failed, delivered] if order == "failed first" else [delivered, failed]
    outbox.receipts_apply(provider="locmem", receipts=pair)
    outbox.batch_send(batch_id=published[0])
    assert Recipient.objects.get().status == "delivered"
    assert not EarlyReceipt.objects.exists()


def test_at_the_same_time_delivered_wins_and_a_receipt_told_twice_changes_nothing(
    template, compound_a
):
    send_one(template, compound_a)
    run_dispatch()
    pid = Recipient.objects.get().provider_id
    failed = Receipt(provider_id=pid, delivered=False, error="X", at=T0)
    delivered = Receipt(provider_id=pid, delivered=True, at=T0)
    assert outbox.receipts_apply(provider="locmem", receipts=[delivered]) == 1
    assert outbox.receipts_apply(provider="locmem", receipts=[failed, delivered]) == 0
    assert Recipient.objects.get().status == "delivered"


def test_a_receipt_for_no_sms_of_ours_is_let_go_after_a_few_days(template, compound_a):
    outbox.receipts_apply(
        provider="locmem", receipts=[Receipt(provider_id="nobody", delivered=True)]
    )
    assert EarlyReceipt.objects.count() == 1
    assert outbox.receipts_settle() == 0
    assert EarlyReceipt.objects.count() == 1  # it may still come
    later = timezone.now() + datetime.timedelta(days=outbox.EARLY_RECEIPT_DAYS, hours=1)
    outbox.receipts_settle(now=later)
    assert not EarlyReceipt.objects.exists()
