import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Wuyi@2026")
    page.click("button[type=submit]")


def test_district_overview_draws_charts_and_drills_to_a_compound(new_page, demo, screenshot_dir):
    page = new_page(DESKTOP)
    log_in(page, "district")
    expect(page.locator("h1")).to_have_text("城关区")
    # Every app's figures, each chart drawn by the vendored Chart.js with its numbers beside it.
    expect(page.locator("#fig-compoundstotal strong")).not_to_have_text("–")
    expect(page.locator(".figures h2")).to_contain_text(["管控状态"])
    canvas = page.locator("canvas#chart-0")
    expect(canvas).to_be_visible()
    assert page.evaluate("typeof Chart !== 'undefined' && !!Chart.getChart('chart-0')")
    expect(page.locator(".chart-table").first).to_contain_text("数据")
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/dashboards-overview.png", full_page=True)

    page.locator(".compound-grid a", has_text="天庆丽舍").click()
    expect(page.locator("h1")).to_have_text("天庆丽舍")
    expect(page.locator(".crumbs")).to_contain_text("团结新村街道")

    phone = new_page(PHONE)
    log_in(phone, "district")
    expect(phone.locator("h1")).to_have_text("城关区")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/dashboards-overview-phone.png", full_page=True)
