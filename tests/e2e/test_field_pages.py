"""Issue 19 in a Chinese browser: what can only be seen on the rendered page (the nav at
360 px, a button's clickable middle, a badge's contrast) and the day it was written for, at
360 px: a secretary creates a shift and staffs it from 排班表; a volunteer finds the deliveries
on the first screen, calls the household and delivers; a secretary marks an order paid and
undoes it."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _centre_hits(page, locator) -> bool:
    """Whether a tap at the element's centre lands on it (nothing drawn over it)."""
    box = locator.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return locator.evaluate(
        "(el, [x, y]) => { const hit = document.elementFromPoint(x, y);"
        " return hit === el || el.contains(hit); }",
        [x, y],
    )


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_every_section_of_the_nav_is_on_a_phone_screen(new_page, demo):
    page = new_page(PHONE)
    log_in(page, "secretary")
    links = page.locator(".nav a")
    assert links.count() == 13  # 小区 … 短信 and 后台管理
    for n in range(links.count()):
        box = links.nth(n).bounding_box()
        name = links.nth(n).inner_text()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
        assert _centre_hits(page, links.nth(n)), name
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_medical_cover_warnings_are_readable(new_page, demo):
    from compounds.models import Compound
    from medical.models import Ambulance

    compound = Compound.objects.get(name="天庆丽舍")
    Ambulance.objects.filter(compound=compound).update(status="out_of_service")
    page = new_page(DESKTOP)
    log_in(page, "secretary")
    # 天庆丽舍's row of the coverage table (the screening demo's case seals 云祥小区, listed
    # first, with no medical worker), and the first warning on its own page.
    for url, scope in (
        ("/medical/coverage/", page.locator("#coverage tr", has_text="天庆丽舍")),
        (f"/compounds/{compound.pk}/", page),
    ):
        page.goto(url)
        badge = scope.locator(".badge.bad").first
        expect(badge).to_have_text("救护车不足")
        colours = badge.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        )
        text, background = (_luminance(c) for c in colours)
        assert "rgba(0, 0, 0, 0)" not in colours[1], colours
        contrast = (max(text, background) + 0.05) / (min(text, background) + 0.05)
        assert contrast >= 4.5, (url, colours, contrast)


def test_the_paid_button_is_clickable_in_its_middle(new_page, demo):
    from supplies.models import GroupBuy

    buy = GroupBuy.objects.filter(orders__isnull=False).order_by("pk").first()
    for size in (DESKTOP, PHONE):
        page = new_page(size)
        log_in(page, "secretary")
        page.goto(f"/supplies/buys/{buy.pk}/money/")
        buttons = page.locator("table.grid").get_by_role("button", name="已付款")
        assert buttons.count() > 0
        for n in range(min(3, buttons.count())):
            buttons.nth(n).scroll_into_view_if_needed()
            assert _centre_hits(page, buttons.nth(n)), (size, n)


def test_the_day_at_360_px(new_page, demo, screenshot_dir):
    from accounts.models import User
    from compounds.models import Compound
    from messaging.models import Message
    from residents.models import PersonalDataAccess
    from supplies.models import Order, OrderStatus
    from volunteers.models import Assignment

    compound = Compound.objects.get(name="天庆丽舍")
    today = timezone.localdate().isoformat()

    # The secretary makes tonight's patrol a shift and staffs it from 排班表.
    desk = new_page(PHONE)
    log_in(desk, "secretary")
    desk.goto(f"/compounds/{compound.pk}/")
    if screenshot_dir:
        desk.screenshot(path=f"{screenshot_dir}/secretary-compound-clock-phone.png", full_page=True)
    expect(desk.locator("#lockdown-clock")).to_contain_text("封控第")
    desk.get_by_role("link", name="排班表").click()
    desk.fill("#id_name", "夜间巡逻")
    desk.fill("#id_starts", "21:00")
    desk.fill("#id_ends", "23:00")
    desk.fill("#id_needed", "1")
    desk.get_by_role("button", name="添加", exact=True).click()
    desk.fill("#id_first", today)
    desk.fill("#id_last", today)
    desk.get_by_role("button", name="生成班次").click()
    day = desk.locator(".plan-day").first
    expect(day).to_be_visible()
    assert desk.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(desk.locator(".plan-day")).to_have_count(7)
    row = day.locator("li", has_text="夜间巡逻")
    expect(row).to_contain_text("缺1人")
    if screenshot_dir:
        desk.screenshot(path=f"{screenshot_dir}/secretary-shift-plan-phone.png", full_page=True)
    row.get_by_role("link", name="安排人员").click()
    desk.select_option("#id_volunteer", label="刘洋")
    desk.get_by_role("button", name="安排上岗").click()
    expect(desk.locator(".rows")).to_contain_text("刘洋")
    staffed = Assignment.objects.get(shift__name="夜间巡逻", shift__date=today)
    assert staffed.volunteer.name == "刘洋"

    # The volunteer: deliveries on the first screen, a call, the handover.
    volunteer = User.objects.get(username="volunteer")
    # An order on its way whose household was texted its code (one without a phone, or whose
    # number takes no SMS, has none to tell: once in a full run the first one had none).
    texted = Message.objects.filter(idempotency_key__startswith="supplies:handover:")
    on_the_way = (
        Order.objects.filter(claimed_by=volunteer, status=OrderStatus.OUT_FOR_DELIVERY)
        .exclude(phone="")
        .order_by("pk")
    )
    order = next(
        o
        for o in on_the_way
        if texted.filter(idempotency_key__startswith=f"supplies:handover:{o.pk}:").exists()
    )
    code = (
        texted.filter(idempotency_key__startswith=f"supplies:handover:{order.pk}:")
        .order_by("-pk")
        .first()
        .variables["code"]
    )
    phone = new_page(PHONE)
    log_in(phone, "volunteer")
    expect(phone.locator("h1")).to_contain_text("今日任务")
    delivery = phone.locator(f"#task-delivery{order.building_id}")
    box = delivery.bounding_box()
    assert box and box["y"] + box["height"] <= PHONE["height"], box  # no scrolling
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/volunteer-today-deliveries-phone.png")
    delivery.get_by_role("link").first.click()
    card = phone.locator(f"#order-{order.pk}")
    expect(card.locator(".items li").first).to_be_visible()
    # The call, in a tab of its own: headless Chromium, handed a tel: address it cannot open,
    # leaves that tab unable to submit forms afterwards (a phone opens its dialler instead).
    dialler = phone.context.new_page()
    dialler.goto("/supplies/deliveries/")
    with dialler.expect_response(lambda r: r.url.endswith(f"/orders/{order.pk}/call/")) as call:
        dialler.locator(f"#order-{order.pk}").get_by_role("button", name="拨打住户电话").click()
    assert call.value.status == 303
    assert call.value.header_value("location") == "tel:" + order.phone
    assert PersonalDataAccess.objects.filter(kind="call", user=volunteer).exists()
    dialler.close()
    card.locator("select[name=how]").select_option(label="当面交付")
    card.locator("input[name=code]").fill("000000" if code != "000000" else "111111")
    card.get_by_role("button", name="已送达").click()
    expect(phone.locator(".messages")).to_contain_text("交接码错误")
    card = phone.locator(f"#order-{order.pk}")
    # The method chosen is still chosen.
    expect(card.locator("select[name=how]")).to_have_value("hand")
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/volunteer-delivery-card-phone.png", full_page=True)
    card.locator("input[name=code]").fill(code)
    card.get_by_role("button", name="已送达").click()
    expect(phone.locator(".messages")).to_contain_text("已送达")
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED and order.delivered_how == "hand"

    # The secretary marks it paid, then takes it back (the wrong row).
    desk.goto(f"/supplies/buys/{order.group_buy_id}/money/")
    row = desk.locator(f"#order-{order.pk}")
    row.locator("select[name=method]").select_option(label="现金")
    row.get_by_role("button", name="已付款").click()
    row = desk.locator(f"#order-{order.pk}")
    expect(row).to_contain_text("现金 · 已付款")
    order.refresh_from_db()
    assert order.paid and order.payment_method == "cash"
    row.get_by_role("button", name="撤销").click()
    expect(desk.locator(".messages")).to_contain_text("已撤销付款")
    expect(desk.locator(f"#order-{order.pk}").get_by_role("button", name="已付款")).to_be_visible()
    order.refresh_from_db()
    assert not order.paid and order.payment_method == ""
    assert order.events.filter(note__contains="撤销付款", by__username="secretary").exists()
