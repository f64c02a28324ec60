import pytest
from playwright.sync_api import expect

from compounds.models import Compound, StatusChange
from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/accounts/login/")
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("#id_username", username)
    page.fill("#id_password", "Wuyi@2026")
    page.click("button[type=submit]")


def test_secretary_changes_a_status_on_a_phone(new_page, demo, screenshot_dir):
    page = new_page(PHONE)
    log_in(page, "secretary")
    expect(page.locator("h1")).to_have_text("小区")
    # Her community's three compounds, and nothing of other communities.
    expect(page.locator(".row")).to_have_count(3)
    expect(page.get_by_text("黄河家园")).to_have_count(0)

    page.get_by_role("link", name="明仁花苑").click()
    expect(page.locator("h1")).to_contain_text("明仁花苑")
    expect(page.locator("h1 .badge")).to_have_text("常态")
    # The page fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="调整状态或报告病例").click()
    page.get_by_label("防范区").check()
    page.fill("textarea[name=reason]", "毗邻封控小区天庆丽舍，划为防范区。")
    page.get_by_role("button", name="保存调整").click()

    expect(page.locator(".messages")).to_contain_text("已调整为“防范区”")
    expect(page.locator("h1 .badge")).to_have_text("防范区")
    expect(page.locator(".history")).to_contain_text("毗邻封控小区天庆丽舍")
    compound = Compound.objects.get(name="明仁花苑")
    assert compound.status == "precautionary"
    assert StatusChange.objects.filter(compound=compound).count() == 1
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/secretary-compound-phone.png", full_page=True)


def test_refused_step_down_is_explained_and_changes_nothing(new_page, demo, screenshot_dir):
    page = new_page(DESKTOP)
    log_in(page, "secretary")
    page.get_by_role("link", name="天庆丽舍").click()
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/secretary-compound-desktop.png", full_page=True)
    page.get_by_role("link", name="调整状态或报告病例").click()
    page.get_by_label("管控区").check()
    page.fill("textarea[name=reason]", "想提前降级")
    page.get_by_role("button", name="保存调整").click()
    expect(page.locator("[role=alert]")).to_contain_text("无新增阳性才能降级")
    assert Compound.objects.get(name="天庆丽舍").status == "sealed"


def test_district_staff_drill_down(new_page, demo, screenshot_dir):
    page = new_page(DESKTOP)
    log_in(page, "district")
    expect(page.locator("h1")).to_have_text("城关区")
    page.get_by_role("link", name="团结新村街道").click()
    page.get_by_role("link", name="天庆社区").click()
    expect(page.locator("#drill table")).to_contain_text("天庆丽舍")
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/district-overview.png", full_page=True)
    page.locator("#drill").get_by_role("link", name="天庆丽舍").click()
    expect(page.locator("h1")).to_contain_text("天庆丽舍")


def test_a_new_positive_case_restarts_the_clock(new_page, demo, screenshot_dir):
    """云祥小区's last case is 12 days old: a controlled compound could step down. The secretary
    reports a new case in building 2; stepping down is then refused, with the date it becomes
    possible, and the case is in the history."""
    import datetime

    from django.utils import timezone

    compound = Compound.objects.get(name="云祥小区")
    Compound.objects.filter(pk=compound.pk).update(
        status="controlled", last_positive_on=timezone.localdate() - datetime.timedelta(days=12)
    )
    page = new_page(DESKTOP)
    log_in(page, "secretary")
    page.get_by_role("link", name="云祥小区").click()
    page.get_by_role("link", name="调整状态或报告病例").click()
    page.get_by_label("发现新增阳性病例（重新开始计算无新增天数）").check()
    page.select_option("select[name=case_building]", label="2号楼")
    page.get_by_label("保持“管控区”").check()
    page.fill("textarea[name=reason]", "2号楼发现1例阳性")
    page.get_by_role("button", name="保存调整").click()
    expect(page.locator(".history")).to_contain_text("新增阳性病例")
    expect(page.locator(".history")).to_contain_text("2号楼")
    today = timezone.localdate()
    expect(page.locator(".facts")).to_contain_text(today.isoformat())

    page.get_by_role("link", name="调整状态或报告病例").click()
    page.get_by_label("防范区").check()
    page.fill("textarea[name=reason]", "想降级")
    page.get_by_role("button", name="保存调整").click()
    may_from = today + datetime.timedelta(days=7)
    expect(page.locator("[role=alert]")).to_contain_text(may_from.isoformat())
    compound.refresh_from_db()
    assert compound.status == "controlled" and compound.last_positive_on == today
    if screenshot_dir:
        page.screenshot(
            path=f"{screenshot_dir}/positive-case-refused-step-down.png", full_page=True
        )
