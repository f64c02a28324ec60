"""The household's own link at 360 px (issue 22, item 3): the secretary sends it, the
household opens it with the code texted to its number, sends the committee a need, and sees it
listed; the renewed link then answers as an unknown one."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NUMBER = "13912345678"


@pytest.fixture
def worker():
    """The Celery worker in the server's process: a task queued on commit runs then."""
    from wuyi.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def test_a_household_sends_a_need_through_its_own_link(
    new_page, compound_a, secretary_a, sms_outbox, worker, screenshot_dir
):
    from care.models import Need
    from messaging.models import Message, SmsTemplate
    from residents import household, notify
    from tests.factories import HouseholdFactory, ResidentFactory

    SmsTemplate.objects.filter(name__in=list(notify.TEXTS)).update(code="SMS_7", approved=True)
    home = HouseholdFactory(compound=compound_a, unit="2", room="501")
    ResidentFactory(compound=compound_a, household=home, name="张建国", phone=NUMBER)
    link, sent = household.household_link_renew(
        by=secretary_a, household=home, site="http://testserver"
    )
    assert sent == 1

    page = new_page(PHONE)
    page.goto(f"/residents/h/{link.token}/")
    page.fill("#id_phone", NUMBER)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#id_code")).to_be_visible()
    code = Message.objects.filter(template__name=notify.HOUSEHOLD_CODE).latest("pk")
    page.fill("#id_code", code.variables["code"])
    page.get_by_role("button", name="继续").click()
    expect(page.locator("#household-actions")).to_contain_text("向居委会反映需求或问题")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="向居委会反映需求或问题").click()
    page.select_option("#id_resident", label="张建国")
    page.select_option("#id_kind", value="supplies")
    page.fill("#id_text", "降压药没了，想要一盒")
    page.get_by_role("button", name="发送", exact=True).click()
    expect(page.locator("#my-needs")).to_contain_text("降压药没了")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/household-link-phone.png", full_page=True)
    assert Need.objects.get().resident.household_id == home.pk

    # A lost phone: the secretary renews; the old link is gone, as an unknown one is.
    household.household_link_renew(by=secretary_a, household=home, site="http://testserver")
    page.goto(f"/residents/h/{link.token}/")
    expect(page.locator("h1")).to_have_text("这里什么也没有")
