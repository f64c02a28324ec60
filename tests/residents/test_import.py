import pytest
from django.core.management import CommandError, call_command

from residents.models import Household, Resident, VulnerableTag
from residents.services import ImportRefused, resident_import
from tests.factories import BuildingFactory, CommunityFactory, CompoundFactory
from tests.residents.helpers import make_id, write_csv, write_xlsx
from wuyi.lib import pii
from wuyi.lib.spreadsheets import ImportFileError

ID1 = make_id(1, "19500312", female=True)
ID2 = make_id(2, "19880705")
ID3 = make_id(3, "20200101")


def good_rows():
    return [
        [1, "张桂兰", "女", ID1, "13893112345", "1", "2", "501", "户主", "独居老人", ""],
        [
            2,
            "李建国",
            "男",
            ID2,
            "139 3112 3456",
            "1号楼",
            "2单元",
            "502",
            "户主",
            "透析",
            "周一三五透析",
        ],
        [None, None, None, None, None, None, None, None, None, None, None],  # a blank row
        [3, "李小宝", "", ID3, "", "1", "2", "502", "子女", "婴幼儿", ""],
        [4, "王芳", "女", "", "0931-8123456", "2", "1", "101", "户主", "", "无身份证"],
    ]


def run(path, community, compound, **kwargs):
    return resident_import(
        path=path,
        community_id=community.pk,
        compound_id=compound.pk if compound else None,
        by=None,
        **kwargs,
    )


@pytest.fixture
def good_file(tmp_path):
    return write_xlsx(tmp_path / "居民.xlsx", good_rows())


def test_dry_run_reports_and_writes_nothing(good_file, community_a, compound_a):
    report = run(good_file, community_a, compound_a, dry_run=True)
    assert report["errors"] == []
    assert report["total_rows"] == 4
    assert (report["new"], report["updated"], report["unchanged"]) == (4, 0, 0)
    assert report["new_households"] == 3
    assert report["errors"] == []
    assert not Resident.objects.exists() and not Household.objects.exists()


def test_commit_then_reimport_changes_nothing(good_file, community_a, compound_a):
    report = run(good_file, community_a, compound_a, dry_run=False)
    assert report["committed"] and report["new"] == 4
    assert Resident.objects.count() == 4 and Household.objects.count() == 3
    li = Resident.objects.get(name="李建国")
    assert li.household.address == "1号楼2单元502"
    assert li.phone == "13931123456"
    assert li.gender == "M" and li.birth_date.isoformat() == "1988-07-05"
    assert li.compound_id == compound_a.pk and li.community_id == community_a.pk
    assert li.national_id == ID2
    assert li.id_hash == pii.keyed_hash(ID2) and li.id_last4 == ID2[-4:]
    assert ID2 not in li.id_cipher  # encrypted at rest
    dialysis = VulnerableTag.objects.get(resident=li)
    assert (dialysis.category, dialysis.treatment) == ("chronic", "透析")
    assert set(VulnerableTag.objects.values_list("category", flat=True)) == {
        "elderly_alone",
        "chronic",
        "infant",
    }
    assert li.history.count() == 1

    again = run(good_file, community_a, compound_a, dry_run=False)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert Resident.objects.count() == 4 and VulnerableTag.objects.count() == 3
    assert li.history.count() == 1


def test_update_on_id_hash(tmp_path, good_file, community_a, compound_a):
    run(good_file, community_a, compound_a, dry_run=False)
    rows = good_rows()
    rows[0][4] = "13800000000"  # new phone
    rows[4][10] = "无身份证，已核实"  # no-ID resident matched on household + name
    report = run(write_xlsx(tmp_path / "v2.xlsx", rows), community_a, compound_a, dry_run=False)
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 2, 2)
    assert Resident.objects.get(id_hash=pii.keyed_hash(ID1)).phone == "13800000000"
    assert Resident.objects.get(name="王芳").notes == "无身份证，已核实"
    assert Resident.objects.count() == 4


def test_csv_in_gbk(tmp_path, community_a, compound_a):
    path = write_csv(tmp_path / "居民.csv", good_rows(), encoding="gb18030")
    report = run(path, community_a, compound_a, dry_run=False)
    assert report["new"] == 4
    assert Resident.objects.filter(name="张桂兰").exists()


def test_excel_number_cells_are_recovered(tmp_path, community_a, compound_a):
    rows = [[1, "赵四", "男", ID2, 13893112345, 1, 2, 501, "户主", "", ""]]
    report = run(write_xlsx(tmp_path / "n.xlsx", rows), community_a, compound_a, dry_run=False)
    assert report["new"] == 1
    resident = Resident.objects.get()
    assert resident.phone == "13893112345"
    assert resident.household.address == "1号楼2单元501"


def test_merged_cells_fill_the_household(tmp_path, community_a, compound_a):
    import openpyxl

    path = write_xlsx(
        tmp_path / "m.xlsx",
        [
            [1, "张三", "男", make_id(11), "", "1", "1", "101", "户主", "", ""],
            [
                2,
                "张三妻",
                "女",
                make_id(12, "19820101", female=True),
                "",
                None,
                None,
                None,
                "配偶",
                "",
                "",
            ],
        ],
    )
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    for column in "FGH":
        sheet.merge_cells(f"{column}3:{column}4")
    workbook.save(path)
    report = run(path, community_a, compound_a, dry_run=False)
    assert report["new"] == 2 and report["new_households"] == 1
    assert Household.objects.get().residents.count() == 2


def test_address_column_instead_of_building_unit_room(tmp_path, community_a, compound_a):
    header = ["姓名", "手机号", "住址"]
    path = write_xlsx(
        tmp_path / "a.xlsx", [["钱七", "13912345678", "2号楼1单元301"]], title=None, header=header
    )
    run(path, community_a, compound_a, dry_run=False)
    assert Resident.objects.get().household.address == "2号楼1单元301"


def test_compound_column_picks_the_compound(tmp_path, community_a, compound_a):
    other = CompoundFactory(community=community_a, name="云祥小区")
    BuildingFactory(compound=other, number="7")
    header = ["小区", "姓名", "楼号", "单元", "门牌号"]
    rows = [["云祥小区", "孙八", "7", "1", "101"], [compound_a.name, "周九", "1", "1", "102"]]
    path = write_xlsx(tmp_path / "c.xlsx", rows, title=None, header=header)
    run(path, community_a, None, dry_run=False)
    assert Resident.objects.get(name="孙八").compound_id == other.pk
    assert Resident.objects.get(name="周九").compound_id == compound_a.pk


# --- bad input: a clear message, nothing written ---------------------------------------------


def assert_nothing_written():
    assert not Resident.objects.exists()
    assert not Household.objects.exists()
    assert not VulnerableTag.objects.exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "文件是空的"),
        (b"%PDF-1.4 binary\x00\x01\x02", "不是Excel或csv文件"),
        (b"PK\x03\x04this is not really a zip", "损坏"),
    ],
)
def test_unreadable_files(tmp_path, community_a, compound_a, content, fragment, settings):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as error:
        run(path, community_a, compound_a, dry_run=False)
    assert fragment in error.value.message
    assert_nothing_written()


def test_docx_is_not_a_workbook(tmp_path, community_a, compound_a):
    import zipfile

    path = tmp_path / "letter.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ImportFileError, match="不是Excel工作簿"):
        run(path, community_a, compound_a, dry_run=False)


def test_header_not_found(tmp_path, community_a, compound_a):
    path = write_xlsx(tmp_path / "h.xlsx", [["a", "b"]], header=["列1", "列2"])
    with pytest.raises(ImportFileError, match="没有找到表头"):
        run(path, community_a, compound_a, dry_run=True)


def test_header_without_rows(tmp_path, community_a, compound_a):
    path = write_xlsx(tmp_path / "h.xlsx", [])
    with pytest.raises(ImportFileError, match="没有居民数据"):
        run(path, community_a, compound_a, dry_run=True)


def bad(rows_patch, tmp_path, community_a, compound_a):
    rows = good_rows()
    rows_patch(rows)
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    with pytest.raises(ImportRefused) as refused:
        run(path, community_a, compound_a, dry_run=False)
    assert_nothing_written()
    return refused.value.report["errors"]


def test_duplicate_id_in_file(tmp_path, community_a, compound_a):
    errors = bad(lambda r: r[1].__setitem__(3, ID1), tmp_path, community_a, compound_a)
    assert (
        errors
        == [
            {"row": 4, "column": "身份证号码", "message": "The same ID number is already on row 3."}
        ]
        or errors[0]["row"] == 4
    )


def test_bad_check_digit(tmp_path, community_a, compound_a):
    wrong = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    errors = bad(lambda r: r[0].__setitem__(3, wrong), tmp_path, community_a, compound_a)
    assert [(e["row"], e["column"]) for e in errors] == [(3, "身份证号码")]
    assert errors[0]["message"] == "身份证号校验位错误。"


def test_phone_of_ten_digits(tmp_path, community_a, compound_a):
    errors = bad(lambda r: r[0].__setitem__(4, "1389311234"), tmp_path, community_a, compound_a)
    assert [(e["row"], e["column"]) for e in errors] == [(3, "联系电话")]
    assert "11" in errors[0]["message"]


def test_building_not_in_compound(tmp_path, community_a, compound_a):
    errors = bad(lambda r: r[0].__setitem__(5, "9"), tmp_path, community_a, compound_a)
    assert [(e["row"], e["column"]) for e in errors] == [(3, "楼栋")]
    assert "9" in errors[0]["message"]


def test_formula_cell(tmp_path, community_a, compound_a):
    errors = bad(
        lambda r: r[0].__setitem__(1, '=HYPERLINK("http://evil.example","张桂兰")'),
        tmp_path,
        community_a,
        compound_a,
    )
    assert [(e["row"], e["column"]) for e in errors] == [(3, "姓名")]
    assert "公式" in errors[0]["message"]


def test_formula_text_in_csv(tmp_path, community_a, compound_a):
    rows = good_rows()
    rows[1][10] = "=cmd|' /C calc'!A0"
    path = write_csv(tmp_path / "f.csv", rows)
    with pytest.raises(ImportRefused) as refused:
        run(path, community_a, compound_a, dry_run=False)
    assert refused.value.report["errors"][0]["row"] == 3  # csv has no title row
    assert_nothing_written()


def test_html_in_name(tmp_path, community_a, compound_a):
    errors = bad(
        lambda r: r[0].__setitem__(1, "<script>alert(1)</script>"),
        tmp_path,
        community_a,
        compound_a,
    )
    assert [(e["row"], e["column"]) for e in errors] == [(3, "姓名")]


def test_id_registered_in_another_community(tmp_path, good_file, community_a, compound_a):
    run(good_file, community_a, compound_a, dry_run=False)
    elsewhere = CommunityFactory(subdistrict=community_a.subdistrict)
    compound = CompoundFactory(community=elsewhere)
    BuildingFactory(compound=compound, number="1")
    rows = [[1, "张桂兰", "女", ID1, "", "1", "2", "501", "户主", "", ""]]
    with pytest.raises(ImportRefused) as refused:
        run(write_xlsx(tmp_path / "x.xlsx", rows), elsewhere, compound, dry_run=False)
    message = refused.value.report["errors"][0]["message"]
    # Refused without saying where: a message naming "another community" would confirm that
    # the person is registered somewhere else.
    assert "登记册中已有" in message or "already on the register" in message
    assert "另一" not in message and "another" not in message and "其他社区" not in message
    assert Resident.objects.filter(community=elsewhere).count() == 0


def test_skip_bad_rows_imports_the_rest(tmp_path, community_a, compound_a):
    rows = good_rows()
    rows[0][4] = "1389311234"
    path = write_xlsx(tmp_path / "s.xlsx", rows)
    report = run(path, community_a, compound_a, dry_run=False, skip_bad_rows=True)
    assert report["committed"] and report["new"] == 3 and report["bad_rows"] == 1
    assert not Resident.objects.filter(name="张桂兰").exists()
    assert Resident.objects.count() == 3


def test_command_dry_run_and_commit(tmp_path, good_file, community_a, compound_a, capsys):
    call_command(
        "import_residents",
        str(good_file),
        "--community",
        community_a.code,
        "--compound",
        compound_a.code,
        "--dry-run",
    )
    out = capsys.readouterr().out
    assert "new 4" in out and "Dry run" in out
    assert not Resident.objects.exists()
    call_command(
        "import_residents",
        str(good_file),
        "--community",
        community_a.code,
        "--compound",
        compound_a.code,
    )
    assert Resident.objects.count() == 4


def test_command_reports_bad_rows(tmp_path, community_a, compound_a, capsys):
    rows = good_rows()
    rows[0][4] = "1389311234"
    path = write_xlsx(tmp_path / "s.xlsx", rows)
    with pytest.raises(CommandError):
        call_command(
            "import_residents",
            str(path),
            "--community",
            community_a.code,
            "--compound",
            compound_a.code,
        )
    assert "row 3, 联系电话" in capsys.readouterr().out
    assert_nothing_written()


def test_legacy_15_digit_id_is_upgraded(tmp_path, community_a, compound_a):
    legacy = "620102500312002"  # born 1950-03-12, female
    rows = [[1, "老住户", "女", legacy, "", "1", "1", "101", "户主", "", ""]]
    run(write_xlsx(tmp_path / "l.xlsx", rows), community_a, compound_a, dry_run=False)
    resident = Resident.objects.get()
    assert len(resident.national_id) == 18
    assert resident.national_id.startswith("62010219500312002")
    assert resident.birth_date.isoformat() == "1950-03-12"
