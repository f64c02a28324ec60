import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from campaign.models import Certificate
from compounds.models import Compound
from compounds.services import NewCase, compound_record_positive
from tests.e2e.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "Wuyi@2026")
    page.click("button[type=submit]")


def test_district_certifies_then_a_case_revokes(new_page, demo, screenshot_dir):
    compound = Compound.objects.get(name="省政府家属院")
    page = new_page(DESKTOP)
    log_in(page, "district")
    page.goto("/campaign/")
    expect(page.locator("#stages")).to_be_visible()
    page.goto(f"/campaign/compounds/{compound.pk}/")
    expect(page.locator("#why-not")).to_have_count(0)
    page.get_by_role("button", name="认定为无疫小区").click()

    # The certificate: printable, with the QR code's address.
    expect(page.locator("#certificate")).to_contain_text("省政府家属院")
    expect(page.locator("#certificate svg")).to_have_count(1)
    page.emulate_media(media="print")
    expect(page.locator("#print")).to_be_hidden()
    expect(page.locator("#certificate")).to_be_visible()
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/campaign-certificate-print.png", full_page=True)
    page.emulate_media(media="screen")
    verify_url = page.locator("#verify-link").get_attribute("href")
    cert = Certificate.objects.get(compound=compound, status="valid")
    assert verify_url.endswith(f"/campaign/v/{cert.token}/")

    # An anonymous visitor on a phone scans it: valid, nothing personal.
    visitor = new_page(PHONE)
    visitor.goto(verify_url)
    expect(visitor.locator("#verified")).to_contain_text("省政府家属院")
    expect(visitor.locator("#verified")).not_to_contain_text("王建国")

    # A case is recorded: the certificate is revoked in the same transaction.
    compound_record_positive(
        compound_id=compound.pk,
        case=NewCase(found_on=timezone.localdate(), note="社会面筛查阳性"),
        by=User.objects.get(username="district"),
    )
    response = visitor.goto(verify_url)
    assert response.status == 404

    page.goto("/campaign/")
    revoked = page.locator("#revoked")
    expect(revoked).to_contain_text("省政府家属院")
    expect(revoked).to_contain_text(timezone.localdate().isoformat())
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/campaign-progress.png", full_page=True)
