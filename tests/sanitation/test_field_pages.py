"""The disinfection pages as the secretary reads them at night, the round's record and the QR
sheets' address (issue 19)."""

# The fixtures come from the app's main test module: pytest sees them as arguments.
# ruff: noqa: F811

import datetime

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from sanitation import rules, services
from sanitation.models import Round
from tests.sanitation.test_sanitation import (  # noqa: F401 - fixtures
    DAY,
    SHANGHAI,
    cleaning_team,
    lift,
    sealed,
    zhao,
)

NIGHT = datetime.datetime(2026, 12, 1, 2, 10, tzinfo=SHANGHAI)


def test_the_week_does_not_say_100_percent_before_anything_is_due(login, secretary_a, lift):
    with time_machine.travel(NIGHT, tick=False):
        services.rosters_generate(day=DAY)
        page = login(secretary_a).get(reverse("sanitation:week")).content.decode()
    assert Round.objects.filter(date=DAY).count() == 4
    assert "100%" not in page
    assert "未到时间" in page
    assert "已到时0轮，完成0轮 · 共4轮" in page


def test_the_week_counts_what_was_due_by_now(login, secretary_a, lift, zhao):
    with time_machine.travel(NIGHT, tick=False):
        services.rosters_generate(day=DAY)
    first = Round.objects.filter(date=DAY).order_by("due_at").first()
    with time_machine.travel(NIGHT.replace(hour=13), tick=False):
        services.round_mark_done(by=zhao.user, round=first, qr=rules.qr_token(first.area))
        page = login(secretary_a).get(reverse("sanitation:week")).content.decode()
    # 08:00 and 12:00 due by 13:00, one of them done: 50 %, not 1 of 4 or 100 %.
    assert "50%" in page and "已到时2轮，完成1轮 · 共4轮" in page


def test_the_round_names_its_cleaner_family_name_first(login, secretary_a, lift, zhao):
    with time_machine.travel(NIGHT.replace(hour=8, minute=5), tick=False):
        services.rosters_generate(day=DAY)
        done = Round.objects.filter(date=DAY).order_by("due_at").first()
        user = zhao.user
        user.last_name, user.first_name = "赵", "桂兰"
        user.save()
        services.round_mark_done(by=user, round=done, qr=rules.qr_token(done.area))
    page = login(secretary_a).get(reverse("sanitation:round", args=[done.pk])).content.decode()
    assert "赵桂兰" in page and "桂兰 赵" not in page


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_qr_sheets_warn_while_the_address_is_local(login, secretary_a, sealed, lift, host):
    client = login(secretary_a)
    url = reverse("sanitation:qr", args=[sealed.pk])
    local = client.get(url, HTTP_HOST=host).content.decode()
    assert 'id="local-address"' in local
    with override_settings(WUYI_PUBLIC_URL="https://wuyi.example.gov.cn"):
        public = client.get(url, HTTP_HOST=host).content.decode()
    assert 'id="local-address"' not in public
