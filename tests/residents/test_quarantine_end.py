"""An ended quarantine leaves every count and audience, by the Asia/Shanghai day (issue 16)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from messaging import registry
from residents.models import Resident
from residents.selectors import compound_counts
from tests.factories import ResidentFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST_DAY = datetime.date(2026, 12, 1)


@pytest.fixture
def people(compound_a):
    return {
        "ending": ResidentFactory(
            compound=compound_a,
            name="李建国",
            phone="13893100001",
            quarantine="home",
            quarantine_from=datetime.date(2026, 11, 24),
            quarantine_until=LAST_DAY,
        ),
        "open": ResidentFactory(
            compound=compound_a, name="王芳", phone="13893100002", quarantine="close"
        ),
        "later": ResidentFactory(
            compound=compound_a,
            name="赵强",
            phone="13893100003",
            quarantine="home",
            quarantine_until=LAST_DAY + datetime.timedelta(days=3),
        ),
        "none": ResidentFactory(compound=compound_a, name="钱多", phone="13893100004"),
    }


def audience_phones(user) -> set[str]:
    _builder, audience = registry.build("residents.quarantine", user, ["home", "close"])
    return {phone for phone, _own in audience.rows}


@pytest.mark.parametrize(
    ("at", "counted"),
    [
        # The last day, to its last minute in Lanzhou (15:59 UTC): still in quarantine.
        (datetime.datetime(2026, 12, 1, 23, 59, tzinfo=SHANGHAI), 3),
        # One minute later it is 2 December in Lanzhou (still 1 December in UTC): ended.
        (datetime.datetime(2026, 12, 2, 0, 1, tzinfo=SHANGHAI), 2),
    ],
)
def test_counts_and_audience_follow_the_last_day_in_shanghai(
    login, secretary_a, compound_a, people, at, counted
):
    with time_machine.travel(at, tick=False):
        assert compound_counts(user=secretary_a, compound_id=compound_a.pk).in_quarantine == counted
        phones = audience_phones(secretary_a)
        assert ("13893100001" in phones) is (counted == 3)
        assert {"13893100002", "13893100003"} <= phones and "13893100004" not in phones
        assert Resident.objects.in_quarantine().count() == counted
        assert people["ending"].in_quarantine is (counted == 3)
        page = login(secretary_a).get(reverse("compounds:detail", args=[compound_a.pk]))
        assert f"<strong>{counted}</strong>" in page.content.decode()


def test_an_ended_quarantine_shows_as_ended(login, secretary_a, people):
    with time_machine.travel(datetime.datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI), tick=False):
        client = login(secretary_a)
        page = client.get(reverse("residents:detail", args=[people["ending"].pk])).content
        assert "已结束" in page.decode()
        listing = client.get(reverse("residents:list") + "?q=李建国").content.decode()
        assert "李建国" in listing and "居家隔离" not in listing
