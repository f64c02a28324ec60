"""Test-day reminders for people in quarantine: on days 1, 4, 7 and 14 after the start, once a
day each however often the job runs, never to someone released."""

import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from messaging.models import Message, SmsTemplate
from screening import services, tasks
from screening.notify import TEST_DAY
from tests.factories import ResidentFactory
from tests.screening.factories import QuarantineFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def template(db):
    SmsTemplate.objects.filter(name=TEST_DAY).update(code="SMS_T", approved=True)


@pytest.fixture
def kept(compound_a):
    def one(name, phone, **kwargs):
        person = ResidentFactory(compound=compound_a, name=name, phone=phone)
        kwargs.setdefault("starts_on", START)
        kwargs.setdefault("ends_on", START + datetime.timedelta(days=14))
        return QuarantineFactory(compound=compound_a, resident=person, **kwargs)

    return {
        "day4": one("李建国", "13893100001"),
        "other": one("王芳", "13893100002", starts_on=START - datetime.timedelta(days=1)),
        "released": one("赵强", "13893100003"),
        "no_phone": one("钱多", ""),
    }


def run(*args) -> str:
    out = StringIO()
    call_command("remind_test_days", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


# Just after midnight in Lanzhou on day 4 (still the day before in UTC): day 4's reminders.
@time_machine.travel(datetime.datetime(2026, 12, 5, 0, 5, tzinfo=SHANGHAI), tick=False)
def test_once_a_day_each_by_the_shanghai_day(kept, secretary_a, django_capture_on_commit_callbacks):
    services.quarantine_release(quarantine_id=kept["released"].pk, by=secretary_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert run() == "queued 1 reminders, 0 already sent"
    message = Message.objects.get(template__name=TEST_DAY)
    assert message.variables == {"name": "李建国", "date": "2026-12-05"}
    assert message.description == "138****0001"
    with django_capture_on_commit_callbacks(execute=True):
        assert run() == "queued 0 reminders, 1 already sent"
        assert tasks.remind_test_days() == "queued 0 reminders, 1 already sent"
    assert Message.objects.filter(template__name=TEST_DAY).count() == 1


@time_machine.travel(datetime.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
def test_no_reminder_on_a_day_without_a_test(kept):
    # Day 2 of the first, day 3 of the other: neither is a test day.
    assert run() == "queued 0 reminders, 0 already sent"
    assert not Message.objects.exists()


@time_machine.travel(datetime.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
def test_the_day_may_be_given(kept):
    # Tomorrow is day 4 of the one who started a day earlier... and day 3 of the others.
    assert run("--date", "2026-12-04") == "queued 1 reminders, 0 already sent"


@pytest.mark.parametrize("value", ["2026-13-01", "tomorrow", "2026-12-20"])
@time_machine.travel(datetime.datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
def test_a_bad_date_is_refused(kept, value):
    with pytest.raises(CommandError):
        run("--date", value)
    assert not Message.objects.exists()
