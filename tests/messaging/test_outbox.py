"""The outbox as secretaries and other apps rely on it: what goes out, once; what is refused,
with nothing written; quiet hours, opt-outs, budgets, retries and dead workers."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from messaging import outbox as engine
from messaging import selectors, services
from messaging.backends import Receipt
from messaging.backends.simple import outbox
from messaging.models import Batch, Budget, Message, OptOut, Recipient
from tests.factories import BuildingFactory
from tests.messaging.conftest import run_dispatch
from wuyi.lib.errors import Refused

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
VARS = {"gate": "东门", "round": "3"}


def at(hour: int, minute: int = 0, day: int = 2) -> datetime.datetime:
    return datetime.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def building(compound, number="1"):
    return compound.buildings.get(number=number)


def campaign(user, template, compound, **kwargs):
    args = {
        "by": user,
        "template_id": template.pk,
        "variables": VARS,
        "audience": "residents.buildings",
        "targets": [str(building(compound).pk)],
    }
    args.update(kwargs)
    return services.campaign_create(**args)


def nothing_written():
    return Message.objects.count() == 0 and Recipient.objects.count() == 0


# ----------------------------------------------------------------------------- sending


def test_a_building_gets_one_sms_per_mobile(secretary_a, compound_a, template, residents_a):
    message = campaign(secretary_a, template, compound_a)
    # Six residents: a landline, an empty phone and two sharing a number leave three mobiles.
    assert message.recipient_count == 3
    assert message.compound_id == compound_a.pk
    assert message.community_id == compound_a.community_id
    assert message.cost_estimate == Decimal("0.135")  # 3 × 0.045 yuan
    run_dispatch()
    texts = {m.text for m in outbox.sent}
    assert texts == {"明日8:00在东门开展第3轮核酸检测，请携带身份证按时参加。"}
    assert sorted(m.phone for m in outbox.sent) == ["13800000001", "13800000002", "13800000003"]
    assert outbox.sent[0].params == {"gate": "东门", "round": "3"}
    results = selectors.message_results(message=message)
    assert results.done == 3 and results.waiting == 0 and results.status == "done"


def test_send_sms_with_the_same_key_sends_once(template, compound_a):
    first = services.send_sms(
        to="138 0000 0009",
        template=template,
        variables=VARS,
        purpose="handover",
        idempotency_key="handover:42",
        place=compound_a,
    )
    again = services.send_sms(
        to="13800000009",
        template="核酸检测通知",
        variables=VARS,
        purpose="handover",
        place=compound_a,
        idempotency_key="handover:42",
    )
    assert again.pk == first.pk
    run_dispatch()
    run_dispatch()
    assert [m.phone for m in outbox.sent] == ["13800000009"]
    assert Message.objects.count() == 1


def test_send_sms_takes_each_recipients_own_variables(template, compound_a):
    services.send_sms(
        to=[("13800000011", {"gate": "东门"}), ("13800000012", {"gate": "西门"})],
        template=template,
        variables={"round": "4"},
        purpose="test",
        place=compound_a,
        idempotency_key="k1",
    )
    run_dispatch()
    assert sorted(m.text[7:9] for m in outbox.sent) == ["东门", "西门"]


def test_a_scheduled_campaign_waits_for_its_time(secretary_a, compound_a, template, residents_a):
    with time_machine.travel(at(9), tick=False):
        message = campaign(secretary_a, template, compound_a, send_at=at(15))
        assert run_dispatch().dispatched == 0
    with time_machine.travel(at(15, 1), tick=False):
        assert run_dispatch().dispatched == 3
    assert Recipient.objects.filter(message=message, status="sent").count() == 3


# ----------------------------------------------------------------------------- refused


def test_an_unapproved_template_is_refused(secretary_a, compound_a, unapproved, residents_a):
    with pytest.raises(Refused) as refused:
        campaign(secretary_a, unapproved, compound_a, variables={"time": "9点", "place": "东门"})
    assert "template" in refused.value.errors
    with pytest.raises(Refused):
        services.send_sms(
            to="13800000001",
            template=unapproved,
            variables={"time": "9点", "place": "东门"},
            purpose="x",
            place=compound_a,
            idempotency_key="u1",
        )
    assert nothing_written()


def test_missing_and_extra_variables_are_named(secretary_a, compound_a, template, residents_a):
    with pytest.raises(Refused) as refused:
        campaign(secretary_a, template, compound_a, variables={"gate": "东门", "time": "9点"})
    assert set(refused.value.errors) == {"var_round", "var_time"}
    # Named as the secretary knows them (issue 19), not by the template's raw key.
    assert refused.value.errors["var_round"] == "请填写“检测轮次”。"
    assert "时间" in refused.value.errors["var_time"]
    with pytest.raises(Refused) as refused:
        campaign(secretary_a, template, compound_a, variables={"gate": "  ", "round": "3"})
    assert set(refused.value.errors) == {"var_gate"}
    assert nothing_written()


def test_a_campaign_over_budget_is_refused_whole(secretary_a, compound_a, template, residents_a):
    Budget.objects.create(community=compound_a.community, monthly_amount=Decimal("0.10"))
    with pytest.raises(Refused) as refused:
        campaign(secretary_a, template, compound_a)
    assert refused.value.code == "over_budget"
    assert "0.10" in str(refused.value.message)
    assert nothing_written()
    # Within the budget it goes; the budget then counts it.
    Budget.objects.filter(community=compound_a.community).update(monthly_amount=Decimal("0.20"))
    campaign(secretary_a, template, compound_a)
    with pytest.raises(Refused):
        campaign(secretary_a, template, compound_a, targets=[str(building(compound_a, "2").pk)])


@pytest.mark.clock
def test_a_schedule_in_the_past_is_refused(secretary_a, compound_a, template, residents_a):
    with pytest.raises(Refused) as refused:
        campaign(
            secretary_a,
            template,
            compound_a,
            send_at=timezone.now() - datetime.timedelta(hours=1),
        )
    assert set(refused.value.errors) == {"send_at"}
    assert nothing_written()


def test_an_empty_audience_is_refused(secretary_a, compound_a, template):
    empty = BuildingFactory(compound=compound_a, number="9")
    with pytest.raises(Refused) as refused:
        campaign(secretary_a, template, compound_a, targets=[str(empty.pk)])
    assert refused.value.code == "empty"
    assert nothing_written()


def test_malformed_numbers_in_a_typed_list_are_named(secretary_a, template):
    lines = ["13800000001", "1380000", "0931-8123456", "abc", "13800000002"]
    with pytest.raises(Refused) as refused:
        services.campaign_create(
            by=secretary_a,
            template_id=template.pk,
            variables=VARS,
            audience="messaging.numbers",
            targets=lines,
        )
    message = str(refused.value.message)
    assert "2" in message and "3" in message and "4" in message
    assert "0931-8123456" not in message  # masked in the message
    assert nothing_written()
    made = services.campaign_create(
        by=secretary_a,
        template_id=template.pk,
        variables=VARS,
        audience="messaging.numbers",
        targets=["13800000001", "+86 138-0000-0002", "13800000001"],
    )
    assert made.recipient_count == 2


def test_only_secretaries_compose_and_only_for_what_they_see(
    secretary_b, volunteer, district_staff, compound_a, template, residents_a
):
    with pytest.raises(PermissionDenied):
        campaign(volunteer, template, compound_a)
    with pytest.raises(PermissionDenied):
        campaign(district_staff, template, compound_a)
    with pytest.raises(Refused) as refused:
        campaign(secretary_b, template, compound_a)  # A's building, unseen by B
    assert set(refused.value.errors) == {"targets"}
    assert nothing_written()


# ----------------------------------------------------------------------------- quiet hours, opt-out


def test_quiet_hours_hold_all_but_urgent(settings, secretary_a, compound_a, template, residents_a):
    settings.WUYI_SMS_QUIET_HOURS = "22:00-07:00"
    with time_machine.travel(at(22, 30), tick=False):
        campaign(secretary_a, template, compound_a)
        urgent = campaign(
            secretary_a,
            template,
            compound_a,
            targets=[str(building(compound_a, "2").pk)],
            urgent=True,
        )
        report = run_dispatch()
        assert report.dispatched == 2 and report.held == 3
        assert str(report) == "dispatched 2 recipients in 1 batches, 3 held for quiet hours"
        assert {m.phone for m in outbox.sent} == {"13900000001", "13900000002"}
        assert Recipient.objects.filter(message=urgent, status="sent").count() == 2
    with time_machine.travel(at(6, 59, day=3), tick=False):
        assert run_dispatch().dispatched == 0
    with time_machine.travel(at(7, 0, day=3), tick=False):
        assert run_dispatch().dispatched == 3
    assert len(outbox.sent) == 5


def test_opted_out_numbers_are_suppressed(secretary_a, compound_a, template, residents_a):
    message = campaign(secretary_a, template, compound_a, urgent=True)
    services.opt_out_add(by=secretary_a, phone="138-0000-0002", note="来电")
    services.opt_out_add(by=secretary_a, phone="13800000002")  # twice: one entry
    opt_out = OptOut.objects.get()
    assert opt_out.masked_phone == "*******0002"
    assert "13800000002" not in str(OptOut.objects.values().get())
    run_dispatch()
    assert sorted(m.phone for m in outbox.sent) == ["13800000001", "13800000003"]
    assert Recipient.objects.get(message=message, phone="13800000002").status == "suppressed"


@pytest.mark.clock
def test_cancel_stops_a_scheduled_campaign(
    secretary_a, secretary_b, compound_a, template, residents_a
):
    message = campaign(
        secretary_a, template, compound_a, send_at=timezone.now() + datetime.timedelta(hours=2)
    )
    with pytest.raises(Message.DoesNotExist):
        services.campaign_cancel(by=secretary_b, message_id=message.pk)
    assert services.campaign_cancel(by=secretary_a, message_id=message.pk) == 3
    assert services.campaign_cancel(by=secretary_a, message_id=message.pk) == 0
    message.refresh_from_db()
    assert message.cost_estimate == 0
    assert run_dispatch(now=timezone.now() + datetime.timedelta(hours=3)).dispatched == 0
    assert outbox.sent == []
    sent = campaign(secretary_a, template, compound_a, targets=[str(building(compound_a, "2").pk)])
    run_dispatch()
    with pytest.raises(Refused):
        services.campaign_cancel(by=secretary_a, message_id=sent.pk)


# ----------------------------------------------------------------------------- faults


def test_only_failed_recipients_are_retried(
    settings, secretary_a, compound_a, template, residents_a
):
    outbox.refuse["13800000002"] = ("流控", True)  # transient
    outbox.refuse["13800000003"] = ("空号", False)  # for good
    message = campaign(secretary_a, template, compound_a)
    run_dispatch()
    assert sorted(m.phone for m in outbox.sent) == ["13800000001"]
    rows = {r.phone: r for r in Recipient.objects.filter(message=message)}
    assert rows["13800000002"].status == "queued" and rows["13800000002"].attempts == 1
    assert rows["13800000002"].due_at > timezone.now()
    assert rows["13800000003"].status == "failed" and rows["13800000003"].last_error == "空号"
    del outbox.refuse["13800000002"]
    assert run_dispatch().dispatched == 0  # not due yet: the backoff
    later = timezone.now() + datetime.timedelta(minutes=5)
    assert run_dispatch(now=later).dispatched == 1
    assert sorted(m.phone for m in outbox.sent) == ["13800000001", "13800000002"]
    assert Recipient.objects.get(message=message, phone="13800000002").attempts == 2
    results = selectors.message_results(message=message)
    assert results.reasons == [("空号", 1)]


def test_transient_failures_end_after_the_last_attempt(settings, template, compound_a):
    settings.WUYI_SMS_MAX_ATTEMPTS = 2
    outbox.refuse["13800000021"] = ("忙", True)
    services.send_sms(
        to="13800000021",
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )
    run_dispatch()
    run_dispatch(now=timezone.now() + datetime.timedelta(hours=1))
    assert Recipient.objects.get().status == "failed"
    assert outbox.calls == 2


def test_a_batch_delivered_twice_sends_once(template, compound_a):
    services.send_sms(
        to=["13800000031", "13800000032"],
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )
    published = []
    engine.dispatch(publish=published.append)
    assert len(published) == 1
    engine.batch_send(batch_id=published[0])
    assert engine.batch_send(batch_id=published[0]).skipped
    assert len(outbox.sent) == 2


def test_a_dead_worker_is_recovered_without_doubling(settings, template, compound_a):
    """A worker took a batch, handed the first call to the provider and died: recovery asks
    the provider, marks what it has as sent, and queues the rest, which then go once."""
    settings.WUYI_SMS_LEASE_SECONDS = 60
    phones = [f"1380000{n:04d}" for n in range(10)]
    services.send_sms(
        to=phones,
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )
    published = []
    engine.dispatch(publish=published.append)
    batch = Batch.objects.get(pk=published[0])
    rows = list(Recipient.objects.filter(batch_id=batch.pk).order_by("id"))
    # What the dead worker left: the batch running, its first four in flight and received.
    for r in rows[:4]:
        outbox.received[str(r.pk)] = f"locmem-{r.pk}"
    Batch.objects.filter(pk=batch.pk).update(
        state="running",
        heartbeat_at=timezone.now(),
        inflight_low=rows[0].pk,
        inflight_high=rows[3].pk,
    )
    assert engine.batches_recover() == 0  # within the lease: the worker may be alive
    later = timezone.now() + datetime.timedelta(seconds=61)
    report = run_dispatch(now=later)
    assert report.recovered == 10 and report.dispatched == 6
    statuses = dict(Recipient.objects.values_list("phone", "status"))
    assert set(statuses.values()) == {"sent"}
    assert sorted(m.phone for m in outbox.sent) == phones[4:]  # the first four were not resent
    assert engine.batch_send(batch_id=batch.pk).skipped  # the old task, delivered late


def test_a_call_in_doubt_is_asked_about_not_resent(template, compound_a):
    """A timeout after the provider got the call: the lookup says it has them."""
    outbox.hang.add("13800000041")
    services.send_sms(
        to=["13800000041", "13800000042"],
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )
    run_dispatch()
    assert len(outbox.sent) == 2 and outbox.calls == 1
    assert set(Recipient.objects.values_list("status", flat=True)) == {"sent"}


def test_the_broker_down_loses_nothing(template, compound_a):
    services.send_sms(
        to="13800000051",
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )

    def down(batch_id):
        raise ConnectionError("broker down")

    report = engine.dispatch(publish=down)
    assert report.broker_down and report.dispatched == 0
    assert "broker is unavailable" in str(report)
    recipient = Recipient.objects.get()
    assert recipient.status == "queued" and recipient.attempts == 0 and recipient.batch_id is None
    assert run_dispatch().dispatched == 1
    assert len(outbox.sent) == 1


# ----------------------------------------------------------------------------- receipts


def test_receipts_are_applied_once(template, compound_a):
    services.send_sms(
        to=["13800000061", "13800000062"],
        template=template,
        variables=VARS,
        purpose="t",
        place=compound_a,
        idempotency_key="t",
    )
    run_dispatch()
    first, second = Recipient.objects.order_by("id")
    receipts = [
        Receipt(provider_id=first.provider_id, delivered=True),
        Receipt(provider_id=second.provider_id, delivered=False, error="UNDELIV"),
        Receipt(provider_id="unknown", delivered=True),
    ]
    assert engine.receipts_apply(provider="locmem", receipts=receipts) == 2
    assert engine.receipts_apply(provider="locmem", receipts=receipts) == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "delivered" and second.status == "failed"
    assert second.last_error == "UNDELIV"


@pytest.mark.clock
def test_sms_per_community_per_day(district_staff, secretary_a, compound_a, template, residents_a):
    campaign(secretary_a, template, compound_a)
    run_dispatch()
    dates, rows = selectors.sent_per_community_per_day(user=district_staff, days=7)
    assert dates[-1] == timezone.localdate()
    assert [(r.community, r.days[-1], r.total) for r in rows] == [(compound_a.community.name, 3, 3)]
