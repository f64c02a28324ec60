"""The bell at 360 px: a volunteer sees the count on every page, opens the list, marks the
alert read; a secretary's alert goes where it points (issue 19)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_bell_on_a_phone(new_page, demo, screenshot_dir):
    from accounts.models import Alert, User
    from accounts.services import alert_raise

    volunteer = User.objects.get(username="volunteer")
    alert_raise(
        to=volunteer,
        text="天庆丽舍 1号楼电梯 的消杀（应于08:00完成）已逾期。",
        key="e2e:overdue",
        link="/volunteers/today/",
        severity="urgent",
    )
    page = new_page(PHONE)
    log_in(page, "volunteer")
    bell = page.locator(".bell")
    expect(bell.locator(".bell-count")).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = bell.bounding_box()
    assert box is not None and box["width"] >= 40 and box["height"] >= 40  # a thumb's target
    assert box["x"] + box["width"] <= PHONE["width"]

    bell.click()
    expect(page.locator("h1")).to_have_text("提醒")
    expect(page.locator(".alert.unread")).to_contain_text("1号楼电梯")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/volunteer-alerts-phone.png", full_page=True)
    page.get_by_role("button", name="标为已读", exact=True).click()
    expect(page.locator(".bell .bell-count")).to_have_count(0)
    assert Alert.objects.get(user=volunteer).read_at is not None


def test_a_secretary_opens_an_alert_and_lands_on_its_page(new_page, demo):
    from accounts.models import Alert, User
    from accounts.services import alert_raise
    from compounds.models import Compound

    secretary = User.objects.get(username="secretary")
    compound = Compound.objects.get(name="天庆丽舍")
    alert_raise(
        to=secretary,
        text="天庆丽舍：3个消杀轮次仍未完成。",
        key="e2e:escalated",
        link=f"/compounds/{compound.pk}/",
    )
    unread = Alert.objects.filter(user=secretary, read_at__isnull=True).count()
    page = new_page(PHONE)
    log_in(page, "secretary")
    expect(page.locator(".bell .bell-count")).to_have_text(str(unread))
    page.locator(".bell").click()
    page.get_by_role("link", name="天庆丽舍：3个消杀轮次仍未完成。").click()
    expect(page.locator("h1")).to_contain_text("天庆丽舍")
    if unread > 1:
        expect(page.locator(".bell .bell-count")).to_have_text(str(unread - 1))
    else:
        expect(page.locator(".bell .bell-count")).to_have_count(0)
    # The demo secretary has no phone: the compound page says so.
    expect(page.locator(".warnings")).to_contain_text("没有登记手机号")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
