"""A group buy from opening to a delivered, paid order: the secretary on the desktop opens it
and enters a household's order, moves it on; the volunteer on the phone claims the building
from 今日任务 and enters the household's handover code; the secretary records the payment and
the reconciliation adds up."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_group_buy_to_a_delivered_paid_order(new_page, demo, screenshot_dir):
    from accounts.models import User
    from compounds.models import Compound
    from messaging.models import Message
    from residents.models import Household
    from supplies import rules
    from supplies.models import GroupBuy, Order

    volunteer = User.objects.get(username="volunteer")
    compound = next(
        c
        for c in Compound.objects.filter(households__isnull=False).distinct().order_by("pk")
        if rules.may_deliver(volunteer, c.pk) and Household.objects.filter(compound=c).exists()
    )
    household = (
        Household.objects.filter(compound=compound)
        .select_related("building")
        .order_by("-pk")
        .first()
    )

    desk = new_page(DESKTOP)
    log_in(desk, "secretary")
    desk.goto("/supplies/")
    expect(desk.locator("h1")).to_have_text("团购")
    desk.get_by_role("link", name="发起团购").click()
    desk.fill("#id_title", "浏览器测试团购")
    desk.select_option("#id_supplier", label="兰州鲜丰农副产品配送中心")
    desk.get_by_label(compound.name).check()
    desk.get_by_label("东北大米10kg（袋）").check()
    desk.get_by_label("鲜鸡蛋30枚（盒）").check()
    desk.get_by_role("button", name="开始接单").click()
    expect(desk.locator(".messages")).to_contain_text("团购已开始接单")
    buy = GroupBuy.objects.get(title="浏览器测试团购")

    desk.get_by_role("link", name="录入订单").click()
    desk.select_option("#id_building", label=f"{compound.name} {household.building.number}号楼")
    desk.fill("#id_unit", household.unit)
    desk.fill("#id_room", household.room)
    desk.fill("#id_phone", "13900001111")
    rice, eggs = buy.items.order_by("position")
    desk.fill(f"#q{rice.pk}", "2")
    desk.fill(f"#q{eggs.pk}", "1")
    desk.get_by_role("button", name="提交订单").click()
    expect(desk.locator(".messages")).to_contain_text("136.00")
    order = Order.objects.get(group_buy=buy)

    desk.goto(f"/supplies/buys/{buy.pk}/")
    desk.get_by_role("button", name="进入下一步：已截单").click()
    desk.get_by_role("button", name="进入下一步：已采购").click()
    expect(desk.locator("h1")).to_contain_text("已采购")
    desk.get_by_role("link", name="分拣单").click()
    expect(desk.locator("#picking-totals")).to_contain_text("东北大米10kg")
    if screenshot_dir:
        desk.screenshot(path=f"{screenshot_dir}/supplies-picking.png", full_page=True)

    phone = new_page(PHONE)
    log_in(phone, "volunteer")
    phone.goto("/volunteers/today/")
    phone.locator(f"#task-delivery-wait{household.building_id} a").click()
    expect(phone.locator("h1")).to_have_text("配送")
    batch = phone.locator("#batches li", has_text=f"{household.building.number}号楼").filter(
        has_text=compound.name
    )
    batch.get_by_role("button", name="领取").click()
    expect(phone.locator(".messages")).to_contain_text("您领取了")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    code = Message.objects.get(idempotency_key=f"supplies:handover:{order.pk}:1").variables["code"]
    row = phone.locator("#my-deliveries li", has_text=f"#{order.pk}")
    row.locator("input[name=code]").fill("000000" if code != "000000" else "111111")
    row.get_by_role("button", name="已送达").click()
    expect(phone.locator(".messages")).to_contain_text("交接码错误")
    row = phone.locator("#my-deliveries li", has_text=f"#{order.pk}")
    row.locator("select[name=how]").select_option(label="当面交付")
    row.locator("input[name=code]").fill(code)
    row.get_by_role("button", name="已送达").click()
    expect(phone.locator(".messages")).to_contain_text("已送达")
    if screenshot_dir:
        phone.screenshot(path=f"{screenshot_dir}/supplies-deliveries-phone.png", full_page=True)

    desk.goto(f"/supplies/orders/{order.pk}/")
    expect(desk.locator("#order-status")).to_have_text("已送达")
    desk.select_option("#id_method", label="微信转账")
    desk.get_by_role("button", name="登记付款").click()
    expect(desk.locator("#order-paid")).to_contain_text("已付款")
    desk.goto(f"/supplies/buys/{buy.pk}/money/")
    expect(desk.locator("#money")).to_contain_text("136.00")
    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_how == "hand" and order.paid
