"""A need recorded at a welfare check becomes a supply order or an escort request in one more
tap (issue 22, item 1): the volunteer of the check or the secretary taps once, the other app
makes it (registered in residents.registry), the need is handled saying what it became. A note
stays the secretary's."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from care import services
from care.models import Need, NeedStatus, Outcome
from tests.care.conftest import MORNING, _check
from wuyi.lib.errors import Refused


def _record(check, kind, text):
    services.check_record(
        by=check.volunteer.user,
        check=check,
        outcome=Outcome.VISITED,
        need_kind=kind,
        need_text=text,
    )
    return Need.objects.get(welfare_check=check)


def test_the_volunteer_taps_once_and_the_need_is_a_proxy_purchase(made, elders, login):
    from supplies.models import Order, OrderKind

    check = _check(elders[0])
    user = check.volunteer.user
    client = login(user)
    # Recording the need brings the volunteer back to the check, where the one tap is.
    page = client.post(
        reverse("care:check", args=[check.pk]),
        {"outcome": "visited", "need_kind": "supplies", "need_text": "降压药一盒，挂面两把"},
    )
    assert page.status_code == 302 and page.url == reverse("care:check", args=[check.pk])
    need = Need.objects.get(welfare_check=check)
    shown = client.get(page.url).text
    assert reverse("care:need_turn", args=[need.pk]) in shown
    done = client.post(reverse("care:need_turn", args=[need.pk]), {"back": "check"})
    assert done.status_code == 302 and done.url == reverse("care:check", args=[check.pk])
    order = Order.objects.get()
    assert order.kind == OrderKind.PROXY and order.household_id == elders[0].household_id
    assert order.proxy.items == "降压药一盒，挂面两把" and order.created_by == user
    need.refresh_from_db()
    assert need.status == NeedStatus.HANDLED and str(order.pk) in need.made
    # A second tap (a double submit) makes nothing more.
    client.post(reverse("care:need_turn", args=[need.pk]), {"back": "check"})
    assert Order.objects.count() == 1
    assert reverse("care:need_turn", args=[need.pk]) not in client.get(page.url).text


def test_an_escort_need_is_a_request_for_the_secretary_to_confirm(
    made, elders, login, secretary_a, django_capture_on_commit_callbacks
):
    from accounts.models import Alert
    from medical.models import Escort, EscortStatus

    check = _check(elders[1])
    need = _record(check, "escort", "周四去市一院复查")
    client = login(check.volunteer.user)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            reverse("care:need_turn", args=[need.pk]), {"when": "2026-12-03T08:30", "back": "check"}
        )
    assert done.status_code == 302
    escort = Escort.objects.get()
    assert escort.status == EscortStatus.REQUESTED and escort.resident == elders[1]
    assert escort.notes == "周四去市一院复查" and escort.created_by == check.volunteer.user
    assert escort.scheduled_at == MORNING.replace(day=3, hour=8, minute=30)
    assert Alert.objects.filter(user=secretary_a, link__contains=str(escort.pk)).exists()
    need.refresh_from_db()
    assert need.status == NeedStatus.HANDLED and str(escort.pk) in need.made


def test_bad_time_or_past_time_changes_nothing(made, elders, login):
    from medical.models import Escort

    check = _check(elders[1])
    need = _record(check, "escort", "复查")
    client = login(check.volunteer.user)
    url = reverse("care:need_turn", args=[need.pk])
    for when in ("明天上午", "2026-11-30T09:00"):
        client.post(url, {"when": when})
        need.refresh_from_db()
        assert need.status == NeedStatus.OPEN
    assert not Escort.objects.exists()


def test_only_the_checks_volunteer_or_the_secretary_may_turn_it(
    made, elders, login, secretary_a, secretary_b, li, wang
):
    from supplies.models import Order

    check = _check(elders[0])
    need = _record(check, "supplies", "大米")
    other = wang if check.volunteer == li else li
    url = reverse("care:need_turn", args=[need.pk])
    assert login(other.user).post(url).status_code == 403
    assert login(secretary_b).post(url).status_code == 404
    with pytest.raises(PermissionDenied):
        services.need_turn(by=other.user, need=need)
    assert not Order.objects.exists()
    # The secretary may, from her list of needs.
    page = login(secretary_a).get(reverse("care:needs"))
    assert url in page.text
    # The door as committees write it, unit included (compounds.models.address_label).
    assert check.household.unit and check.household.address in page.text
    login(secretary_a).post(url, {"back": "needs"})
    assert Order.objects.count() == 1


def test_a_note_stays_the_secretarys(made, elders, secretary_a):
    check = _check(elders[2])
    need = _record(check, "note", "想和女儿视频")
    with pytest.raises(Refused):
        services.need_turn(by=secretary_a, need=need)
    need.refresh_from_db()
    assert need.status == NeedStatus.OPEN


def test_the_tap_defaults_the_escort_to_tomorrow_morning(made, elders, secretary_a):
    from medical.models import Escort

    need = _record(_check(elders[3]), "escort", "透析")
    services.need_turn(by=secretary_a, need=need)
    escort = Escort.objects.get()
    assert escort.scheduled_at == MORNING + datetime.timedelta(days=1)
