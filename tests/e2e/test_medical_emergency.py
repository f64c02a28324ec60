"""The medic reports an emergency on a phone: the nearest free ambulance is dispatched, the
district's board shows it, and the medic takes it to hospital and back."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_emergency_from_the_form_to_returned(new_page, demo, screenshot_dir):
    from medical.models import Escort
    from residents.models import Resident

    resident = (
        Resident.objects.filter(compound__name="天庆丽舍", left_on__isnull=True)
        .exclude(phone="")
        .order_by("pk")
        .first()
    )
    phone = new_page(PHONE)
    log_in(phone, "medic")
    phone.goto("/medical/emergency/")
    expect(phone.locator("h1")).to_contain_text("天庆丽舍")
    # The patient is searched for (a name, or the door), not picked from the whole compound.
    expect(phone.locator("input[name=resident]")).to_have_count(0)
    phone.fill("#id_resident", resident.name)
    phone.locator(f"#id_resident_{resident.pk}").check()
    phone.fill("#id_symptom", "胸痛，出冷汗")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/medic-emergency-phone.png", full_page=True)
    phone.get_by_role("button", name="派救护车").click()
    expect(phone.locator(".messages")).to_contain_text("已出车")
    expect(phone.locator("#escort-status")).to_have_text("已出车")
    escort = Escort.objects.get(symptom="胸痛，出冷汗")
    assert escort.ambulance is not None and escort.compound.name == "天庆丽舍"
    # The crew's card: the door with its room, and the patient's number one (logged) tap away.
    expect(phone.locator("#escort-pickup")).to_contain_text(resident.household.room)
    expect(phone.locator("#call-patient")).to_be_visible()
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/medic-emergency-escort-phone.png", full_page=True)

    desk = new_page(DESKTOP)
    log_in(desk, "district")
    desk.goto("/medical/board/")
    expect(desk.locator("#board-rows")).to_contain_text("胸痛，出冷汗")
    expect(desk.locator("#board-rows")).to_contain_text(escort.ambulance.plate)
    if screenshot_dir:
        desk.screenshot(path=f"{screenshot_dir}/medical-board.png", full_page=True)

    phone.get_by_role("button", name="已到医院").click()
    expect(phone.locator("#escort-status")).to_have_text("已到医院")
    phone.fill("#id_outcome", "心电图正常，留观后返回")
    phone.get_by_role("button", name="已返回").click()
    expect(phone.locator("#escort-status")).to_have_text("已返回")
    expect(phone.locator(".steps li")).to_have_count(5)
    escort.refresh_from_db()
    assert escort.status == "returned" and escort.outcome == "心电图正常，留观后返回"
    assert escort.ambulance.status == "available"

    # The board polls: the closed emergency leaves it.
    desk.goto("/medical/board/")
    expect(desk.locator("#board-rows")).not_to_contain_text("胸痛，出冷汗")
