import pytest
from playwright.sync_api import expect

from residents.models import PersonalDataAccess, Resident
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_compound_status import log_in
from tests.residents.helpers import make_id, write_xlsx

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_secretary_previews_fixes_and_imports_an_xlsx(new_page, demo, tmp_path, screenshot_dir):
    rows = [
        [
            1,
            "欧阳秀英",
            "女",
            make_id(31, "19420315", area="620103", female=True),
            "13893100001",
            "5",
            "1",
            "1201",
            "户主",
            "独居老人",
            "子女在外地",
        ],
        [
            2,
            "欧阳建军",
            "男",
            make_id(32, "19700101", area="620103"),
            "1389310000",  # 10 digits
            "5",
            "1",
            "1202",
            "户主",
            "",
            "",
        ],
        [
            3,
            "欧阳小雨",
            "女",
            make_id(33, "20230601", area="620103", female=True),
            "",
            "5",
            "1",
            "1202",
            "子女",
            "婴幼儿",
            "",
        ],
    ]
    path = write_xlsx(tmp_path / "天庆丽舍5号楼.xlsx", rows)

    page = new_page(DESKTOP)
    log_in(page, "secretary")
    page.get_by_role("link", name="居民", exact=True).click()
    page.get_by_role("link", name="导入名单").click()
    page.select_option("select[name=compound]", label="天庆丽舍")
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="检查名单").click()

    # The preview names the row and the column, in Chinese, and nothing is saved yet.
    errors = page.locator("table.errors")
    expect(errors).to_contain_text("联系电话")
    expect(errors).to_contain_text("手机号应为11位")
    expect(errors.locator("td").first).to_have_text("4")
    assert not Resident.objects.filter(name__startswith="欧阳").exists()
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/import-preview.png", full_page=True)

    # Importing without choosing to skip is refused; skipping imports the two good rows.
    page.get_by_label("跳过1个错误行，导入其余数据").check()
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator(".badge.state-done")).to_have_text("已导入")
    assert set(Resident.objects.filter(name__startswith="欧阳").values_list("name", flat=True)) == {
        "欧阳秀英",
        "欧阳小雨",
    }

    # She finds the new resident at once by room, and the phone is masked.
    page.get_by_role("link", name="居民", exact=True).click()
    page.fill("input[name=q]", "5-1-1201")
    expect(page.locator("#resident-rows")).to_contain_text("欧阳秀英")
    expect(page.locator("#resident-rows")).to_contain_text("138****0001")
    page.get_by_role("link", name="欧阳秀英").click()
    page.get_by_role("button", name="显示完整身份证号和电话（将被记录）").click()
    expect(page.locator("dd.revealed").nth(1)).to_have_text("13893100001")
    assert PersonalDataAccess.objects.filter(kind="view").count() == 1


def test_medic_reads_the_ledger_as_cards_and_calls(new_page, demo, screenshot_dir):
    """The medic's reach is the ledger of their compounds (a volunteer's is their tasks)."""
    page = new_page(PHONE)
    log_in(page, "medic")
    page.get_by_role("link", name="台账").click()
    expect(page.locator("h1")).to_have_text("特殊人群台账")
    first = page.locator("table.ledger tbody tr").first
    expect(first).to_contain_text("天庆丽舍")
    # A card, not an 8-column table: the header is hidden, every line says what it is, and
    # nothing is wider than the phone.
    expect(page.locator("table.ledger thead")).to_be_hidden()
    address = first.locator("td[data-label='地址']")
    label = address.evaluate("td => getComputedStyle(td, '::before').content")
    assert "地址" in label, label
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The top navigation is words on a line, not a character a line.
    nav_height = page.locator(".nav").bounding_box()["height"]
    assert nav_height < 60, nav_height
    # Nothing of the other compounds of the community, and no full numbers.
    expect(page.locator("table.ledger")).not_to_contain_text("云祥小区")
    expect(page.get_by_role("button", name="显示完整身份证号和电话（将被记录）")).to_have_count(0)
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/medic-ledger-phone.png", full_page=True)

    # One tap on 拨打: the call is recorded and the phone is asked to dial the number.
    with page.expect_response(lambda r: r.url.endswith("/call/")) as call:
        first.get_by_role("button", name="拨打").click()
    response = call.value
    assert response.status == 303 and response.header_value("location").startswith("tel:1")
    access = PersonalDataAccess.objects.get(kind="call")
    assert access.user.username == "medic"


def test_secretary_maps_an_unknown_category_word_on_the_preview(
    new_page,
    demo,
    tmp_path,
    screenshot_dir,
):
    rows = [
        [1, "马秀英", "女", "", "13893100011", "5", "1", "1301", "户主", "残疾(肢体)", ""],
        [2, "马建国", "男", "", "13893100012", "5", "1", "1302", "户主", "慢性病(糖尿病)", ""],
        [3, "马小红", "女", "", "", "5", "1", "1302", "子女", "低保户", ""],
    ]
    path = write_xlsx(tmp_path / "马家.xlsx", rows)
    page = new_page(DESKTOP)
    log_in(page, "secretary")
    page.goto("/residents/import/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=compound]", label="天庆丽舍")
    page.get_by_role("button", name="检查名单").click()
    mapping = page.locator("form.map-words")
    expect(mapping).to_contain_text("低保户")
    mapping.locator("select").select_option(label="其他")
    mapping.get_by_role("button").click()
    expect(page.locator(".totals")).to_contain_text("0")
    expect(page.locator("form.map-words")).to_have_count(0)
    if screenshot_dir:
        page.screenshot(path=f"{screenshot_dir}/import-mapped-words.png", full_page=True)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator(".badge.state-done")).to_have_text("已导入")
    ma = Resident.objects.get(name="马秀英")
    tag = ma.tags.get()
    assert (tag.category, tag.details) == ("disabled", "肢体")
    assert Resident.objects.get(name="马小红").tags.get().category == "other"
