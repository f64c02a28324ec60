"""The volunteer's phone: a one-time link, today's tasks, one tap to check in."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_volunteer_opens_the_link_and_checks_in(new_page, demo, screenshot_dir):
    from accounts.models import User
    from compounds.models import Compound
    from volunteers import services
    from volunteers.models import Assignment, Volunteer

    volunteer = Volunteer.objects.get(user__username="volunteer")
    secretary = User.objects.get(username="secretary")
    # A shift that is on now, whatever the hour the test runs at.
    Assignment.objects.filter(volunteer=volunteer, shift__date=timezone.localdate()).delete()
    now = timezone.now()
    shift = services.shift_create(
        by=secretary,
        compound=Compound.objects.get(name="天庆丽舍"),
        name="门岗",
        starts_at=now - datetime.timedelta(minutes=30),
        ends_at=now + datetime.timedelta(hours=3),
    )
    services.shift_assign(by=secretary, shift=shift, volunteer=volunteer)
    token = services.login_link_create(by=secretary, volunteer=volunteer)

    page = new_page(PHONE)
    page.goto(f"/volunteers/link/{token}/")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text("设置密码")
    page.fill("#id_new_password1", "Liu-Yang-2026")
    page.fill("#id_new_password2", "Liu-Yang-2026")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("h1")).to_contain_text("今日任务")
    row = page.locator(f"#assignment-{Assignment.objects.get(shift=shift).pk}")
    expect(row).to_contain_text("门岗")
    expect(row).to_contain_text("天庆丽舍")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/volunteer-today-phone.png", full_page=True)
    row.get_by_role("button", name="签到").click()
    expect(row).to_contain_text("签到")
    expect(row.get_by_role("button", name="签退")).to_be_visible()  # htmx: no reload
    assert Assignment.objects.get(shift=shift).checked_in_at is not None

    # The secretary sees the check-in on the shift plan.
    desk = new_page(DESKTOP)
    log_in(desk, "secretary")
    desk.goto(f"/volunteers/shifts/{shift.pk}/")
    expect(desk.locator(".rows")).to_contain_text("刘洋")
    expect(desk.locator(".badge.status-normal")).to_contain_text("签到")
    if screenshot_dir:
        desk.goto(f"/volunteers/plan/{shift.compound_id}/")
        desk.screenshot(path=f"{screenshot_dir}/secretary-shift-plan.png", full_page=True)
