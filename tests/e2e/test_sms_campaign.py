import pytest
from playwright.sync_api import expect

from messaging import outbox as engine
from messaging.backends.simple import outbox
from messaging.models import Message, Recipient
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sms(settings):
    settings.WUYI_SMS_BACKEND = "locmem"
    settings.WUYI_SMS_QUIET_HOURS = ""
    outbox.clear()
    yield
    outbox.clear()


def test_secretary_sends_a_campaign_to_a_building(new_page, demo, sms, screenshot_dir):
    page = new_page(DESKTOP)
    log_in(page, "secretary")
    page.get_by_role("link", name="短信", exact=True).click()
    expect(page.locator("h1")).to_have_text("短信")
    page.get_by_role("link", name="新建短信").click()

    page.select_option("select[name=template]", label="核酸检测通知")
    # The template's variables arrive with it (htmx).
    page.fill("input[name=var_gate]", "东门")
    page.fill("input[name=var_round]", "4")
    page.check("input[name=audience][value='residents.buildings']")
    page.select_option("select[name='t:residents.buildings']", label="天庆丽舍 2号楼")
    page.get_by_role("button", name="预览").click()
    preview = page.locator(".preview")
    expect(preview).to_contain_text("【无疫社区】明日8:00在东门开展第4轮核酸检测")
    count = int(preview.locator(".count").inner_text())
    assert count > 0
    assert not Message.objects.filter(variables__round="4").exists()
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/sms-compose.png", full_page=True)

    page.get_by_role("button", name="发送", exact=True).click()
    # 发送 asks once more, with the preview, before anything is queued.
    expect(page.locator("#confirm")).to_contain_text(str(count))
    assert not Message.objects.filter(variables__round="4").exists()
    page.get_by_role("button", name="确认发送").click()
    expect(page.locator(".messages")).to_contain_text(f"{count}条短信正在发送")
    message = Message.objects.get(variables__round="4")
    assert message.recipient_count == count

    # The dispatcher's next run (beat's, here by hand) sends them.
    engine.dispatch(publish=lambda batch_id: engine.batch_send(batch_id=batch_id))
    assert Recipient.objects.filter(message=message, status="sent").count() == count

    phone = new_page(PHONE)
    log_in(phone, "secretary")
    phone.goto(f"/messaging/{message.pk}/")
    expect(phone.locator(".sent-count")).to_have_text(str(count))
    expect(phone.locator("h1 .badge")).to_have_text("完成")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/sms-results-phone.png", full_page=True)
