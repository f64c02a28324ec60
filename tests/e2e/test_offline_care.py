"""The volunteer on a 360 px phone loses the signal in a stairwell: marks a delivery and a
welfare check without network, sees them waiting, gets the signal back, and both are recorded
once; the secretary's ledger shows both residents served today."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _setting(volunteer, secretary):
    """A compound both see, two ledger residents of different households in it: one with an
    order the volunteer carries, one with a welfare check given to the volunteer."""
    from care.models import WelfareCheck
    from compounds.models import Compound
    from residents.models import VulnerableTag
    from tests.factories import OrderFactory
    from volunteers.models import Volunteer

    both = Compound.objects.visible_to(volunteer) & Compound.objects.visible_to(secretary)
    for compound in both.order_by("pk"):
        tags = list(
            VulnerableTag.objects.filter(
                resident__compound=compound, resident__left_on__isnull=True
            ).select_related("resident")
        )
        households = {}
        for tag in tags:
            households.setdefault(tag.resident.household_id, tag.resident)
        if len(households) >= 2:
            break
    else:
        pytest.skip("the demo has no compound with two ledger households for the volunteer")
    carried, checked = list(households.values())[:2]
    order = OrderFactory(
        household=carried.household,
        status="out_for_delivery",
        claimed_by=volunteer,
        claimed_at=timezone.now(),
        phone="",
    )
    WelfareCheck.objects.filter(resident=checked, date=timezone.localdate()).delete()
    check = WelfareCheck.objects.create(
        resident=checked,
        compound=compound,
        household=checked.household,
        date=timezone.localdate(),
        category="elderly_alone",
        volunteer=Volunteer.objects.get(user=volunteer),
    )
    return compound, order, check, carried, checked


def _wait_for_the_service_worker(page) -> None:
    """Until the service worker is active and controls the page (a reload after its first
    install). wait_for_function evaluates a string, which the site's CSP forbids: polled."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for _n in range(100):
        if page.evaluate("!!navigator.serviceWorker.controller"):
            return
        page.reload()
        page.wait_for_timeout(200)
    raise AssertionError("the service worker never took the page")


def _go_offline(page) -> None:
    """The network cut, and the page told so before anything is tapped: the offline queue
    takes a tap only once navigator.onLine says false, and Chromium says so a moment after
    the cut; a tap in that moment went out as a normal POST (through the service worker,
    which the emulated cut does not stop) and was delivered (seen once in CI). Polled: the
    site's CSP forbids wait_for_function's string."""
    page.context.set_offline(True)
    for _n in range(100):
        if not page.evaluate("navigator.onLine"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page never saw the network cut")


def test_offline_taps_are_sent_once_when_the_signal_returns(new_page, demo):
    from accounts.models import User
    from volunteers.models import OfflineTap

    volunteer = User.objects.get(username="volunteer")
    secretary = User.objects.get(username="secretary")
    compound, order, check, carried, checked = _setting(volunteer, secretary)

    phone = new_page(PHONE)
    log_in(phone, "volunteer")
    phone.goto("/volunteers/today/")
    expect(phone.locator(f"#task-welfare{check.pk}")).to_contain_text(checked.name)
    _wait_for_the_service_worker(phone)
    # Both task pages seen once with signal: the service worker keeps them.
    phone.goto(f"/care/checks/{check.pk}/")
    phone.goto("/supplies/deliveries/")
    expect(phone.locator("#my-deliveries")).to_contain_text(f"#{order.pk}")

    _go_offline(phone)
    row = phone.locator("#my-deliveries li", has_text=f"#{order.pk}")
    row.get_by_role("button", name="已送达").click()
    expect(phone.locator("#offline-queue")).to_contain_text("等待发送: 1")

    phone.goto(f"/care/checks/{check.pk}/")  # from the phone's cache
    expect(phone.locator("h1")).to_contain_text(checked.name)
    expect(phone.locator("#offline-queue")).to_contain_text("等待发送: 1")
    phone.get_by_label("良好").check()
    phone.get_by_role("button", name="电话联系上").click()
    expect(phone.locator("#offline-queue")).to_contain_text("等待发送: 2")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    order.refresh_from_db()
    check.refresh_from_db()
    assert order.status == "out_for_delivery" and check.outcome == "open"

    phone.context.set_offline(False)
    expect(phone.locator("#offline-queue")).to_be_hidden(timeout=15_000)
    order.refresh_from_db()
    check.refresh_from_db()
    assert order.status == "delivered"
    assert (check.outcome, check.mood) == ("phone", "good")
    assert OfflineTap.objects.filter(user=volunteer).count() == 2

    desk = new_page(DESKTOP)
    log_in(desk, "secretary")
    desk.goto(f"/residents/ledger/?compound={compound.pk}")
    expect(desk.locator("tr", has_text=carried.name).first.locator("td.served")).to_contain_text(
        "已送达"
    )
    expect(desk.locator("tr", has_text=checked.name).first.locator("td.served")).to_contain_text(
        "电话联系上"
    )
    desk.goto(f"/care/compounds/{compound.pk}/served/")
    expect(desk.locator("#served")).to_contain_text(checked.name)
