"""Overdue rounds reach people who have no phone: the cleaner's and the secretary's bell, and
the sub-district's when the secretary cannot be texted (issue 16, issue 19)."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Alert, Role
from messaging.models import Message
from sanitation import services
from tests.conftest import send_queued
from tests.factories import RoundFactory, UserFactory
from tests.sanitation.test_sanitation import (  # noqa: F401 - fixtures
    at,
    cleaning_team,
    clock,
    lift,
    sealed,
    sms,
    zhao,
)


@pytest.fixture
def street(subdistrict):
    return UserFactory(username="street", role=Role.SUBDISTRICT_STAFF, posted_to=subdistrict)


def test_a_secretary_without_a_phone_hears_in_the_app_and_so_does_the_sub_district(
    clock,  # noqa: F811
    sms,  # noqa: F811
    secretary_a,
    street,
    sealed,  # noqa: F811
    lift,  # noqa: F811
    zhao,  # noqa: F811
):
    """Both demo secretaries have no phone: the escalation used to be dropped silently."""
    assert secretary_a.phone == ""
    r = RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    clock.move_to(at(9, 5))
    services.rounds_remind_overdue()
    clock.move_to(at(10, 6))
    result = services.rounds_remind_overdue()
    assert (result.secretaries, result.rounds_escalated) == (0, 1)
    send_queued()
    assert [m.phone for m in sms.sent] == [zhao.phone]  # the cleaner's SMS only
    hers = Alert.objects.get(user=secretary_a)
    assert hers.severity == "urgent" and "1个消杀轮次仍未完成" in hers.text
    assert hers.link == reverse("sanitation:compound", args=[sealed.pk])
    above = Alert.objects.get(user=street)
    assert above.about == secretary_a and "没有手机号" in above.text
    # The cleaner had their reminder under the bell as well as by SMS.
    cleaner = Alert.objects.get(user=zhao.user)
    assert "1号楼电梯" in cleaner.text and cleaner.link == reverse("sanitation:round", args=[r.pk])
    # Later sweeps add nothing.
    clock.move_to(at(10, 30))
    services.rounds_remind_overdue()
    assert Alert.objects.count() == 3


def test_a_secretary_with_a_phone_is_texted_and_the_sub_district_is_not_bothered(
    clock,  # noqa: F811
    sms,  # noqa: F811
    secretary_a,
    street,
    sealed,  # noqa: F811
    lift,  # noqa: F811
    zhao,  # noqa: F811
):
    secretary_a.phone = "13893100099"
    secretary_a.save()
    RoundFactory(area=lift, at=datetime.time(8), assignee=zhao)
    clock.move_to(at(9, 5))
    services.rounds_remind_overdue()
    clock.move_to(at(10, 6))
    assert services.rounds_remind_overdue().secretaries == 1
    assert Message.objects.filter(purpose="sanitation_overdue").count() == 2
    assert Alert.objects.filter(user=secretary_a).count() == 1
    assert not Alert.objects.filter(user=street).exists()


def test_a_community_with_no_secretary_escalates_to_the_sub_district(
    clock,  # noqa: F811
    sms,  # noqa: F811
    secretary_a,
    street,
    sealed,  # noqa: F811
    lift,  # noqa: F811
):
    secretary_a.postings.all().delete()
    RoundFactory(area=lift, at=datetime.time(8), assignee=None)
    clock.move_to(at(9, 5))
    services.rounds_remind_overdue()
    clock.move_to(at(10, 6))
    assert services.rounds_remind_overdue().rounds_escalated == 1
    assert list(Alert.objects.values_list("user", flat=True)) == [street.pk]
