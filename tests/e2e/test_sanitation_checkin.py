"""The cleaner scans the code next to the lift on a phone and taps done; the secretary's
progress moves."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_cleaner_scans_the_lift_code_and_the_secretary_sees_it(new_page, demo, screenshot_dir):
    from django.urls import reverse

    from accounts.models import User
    from compounds.models import Compound
    from sanitation import rules, services
    from sanitation.models import Round
    from volunteers.models import Volunteer

    compound = Compound.objects.get(name="天庆丽舍")
    secretary = User.objects.get(username="secretary")
    cleaner = Volunteer.objects.get(user__username="volunteer")
    # A round of the lift that is on now, whatever the hour the test runs at.
    now = timezone.localtime()
    started = now - datetime.timedelta(minutes=10)
    if started.date() != now.date():
        pytest.skip("the test needs ten minutes of today behind it")
    lift = services.area_save(
        by=secretary,
        compound=compound,
        name="3号楼核酸采样点",
        kind="lift",
        method="wipe",
        times=[started.strftime("%H:%M")],
        window_minutes=120,
    )
    the_round = services.round_add(
        by=secretary, area=lift, day=now.date(), at=started.strftime("%H:%M"), assignee=cleaner
    )

    desk = new_page(DESKTOP)
    log_in(desk, "secretary")
    desk.goto(f"/sanitation/compounds/{compound.pk}/")
    done_before = Round.objects.filter(
        compound=compound, date=now.date(), done_at__isnull=False
    ).count()
    total = Round.objects.filter(compound=compound, date=now.date()).count()
    expect(desk.locator("#progress")).to_contain_text(f"已完成 {done_before} /")
    expect(desk.locator("#progress")).to_contain_text(f"全天 {total}")
    expect(desk.locator(f"#round-{the_round.pk}")).to_contain_text("刘洋")
    desk.locator(f"#round-{the_round.pk} a").click()
    expect(desk.locator("h1")).to_contain_text("3号楼核酸采样点")
    expect(desk.locator(".facts")).to_contain_text("刘洋")

    # The QR sheet carries the link the phone opens.
    desk.goto(f"/sanitation/compounds/{compound.pk}/qr/?area={lift.pk}")
    expect(desk.locator(".qr-area")).to_have_text("3号楼核酸采样点")
    expect(desk.locator(".qr-code svg")).to_be_visible()

    phone = new_page(PHONE)
    log_in(phone, "volunteer")
    # A code printed before codes were signed proves nothing: a refusal page.
    phone.goto(f"/sanitation/a/{lift.pk}/")
    expect(phone.locator("h1")).to_contain_text("二维码已失效")
    # The address the sheet's code opens (signed for the area).
    phone.goto(reverse("sanitation:scan", args=[rules.qr_token(lift)]))
    expect(phone.locator("h1")).to_contain_text("3号楼核酸采样点")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/cleaner-scan-phone.png", full_page=True)
    phone.get_by_role("button", name="完成").click()
    expect(phone.locator(".messages")).to_contain_text("已完成")
    expect(phone.locator("#current")).to_contain_text("已于")
    the_round.refresh_from_db()
    assert the_round.done_by.username == "volunteer" and the_round.timing == "on_time"

    # The round is in 今日任务 as done.
    phone.goto("/volunteers/today/")
    expect(phone.locator(f"#task-round{the_round.pk}")).to_have_class("task done")

    desk.goto(f"/sanitation/compounds/{compound.pk}/")
    expect(desk.locator("#progress")).to_contain_text(f"已完成 {done_before + 1} /")
    if screenshot_dir:
        desk.screenshot(path=f"{screenshot_dir}/secretary-sanitation-roster.png", full_page=True)
        desk.goto("/sanitation/")
        desk.screenshot(path=f"{screenshot_dir}/sanitation-overview.png", full_page=True)
