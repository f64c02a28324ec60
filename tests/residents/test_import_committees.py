"""Import and export as committees use them: their category words, their addresses, a template
to start from, and exports that say what they are."""

import io
from urllib.parse import unquote

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from residents import rules, services
from residents.models import CategoryMapping, ImportJob, PersonalDataAccess, VulnerableTag
from tests.factories import BuildingFactory, CompoundFactory
from tests.residents.helpers import HEADER, write_xlsx


def run(path, compound, **kwargs):
    return services.resident_import(
        path=path,
        community_id=compound.community_id,
        compound_id=compound.pk,
        by=kwargs.pop("user", None),
        dry_run=kwargs.pop("dry_run", False),
        **kwargs,
    )


def row(n, name, room, categories="", address=None):
    return [n, name, "", "", "", "1", "1", room, "", categories, ""]


@pytest.mark.parametrize(
    ("written", "category", "details", "treatment"),
    [
        ("孕妇", "pregnant", "", ""),
        ("血透", "chronic", "", "透析"),
        ("独居", "elderly_alone", "", ""),
        ("高龄", "elderly", "", ""),
        ("长期卧床", "bedridden", "", ""),
        ("基础病", "chronic", "", ""),
        ("残疾(肢体)", "disabled", "肢体", ""),
        ("慢性病（糖尿病、高血压）", "chronic", "糖尿病、高血压", ""),
        ("糖尿病", "chronic", "糖尿病", ""),
    ],
)
def test_category_words_as_committees_write_them(
    tmp_path, compound_a, written, category, details, treatment
):
    run(write_xlsx(tmp_path / "l.xlsx", [row(1, "王芳", "101", written)]), compound_a)
    tag = VulnerableTag.objects.get()
    assert (tag.category, tag.details, tag.treatment) == (category, details, treatment)


def test_unknown_words_are_listed_once_and_mapped_for_the_community(
    tmp_path, login, secretary_a, compound_a
):
    rows = [row(n, f"居民{n}", str(100 + n), "低保户") for n in range(1, 4)]
    rows.append(row(4, "李明", "201", "五保户、独居"))
    path = write_xlsx(tmp_path / "l.xlsx", rows)
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    job = services.import_job_check(job_id=job.pk)
    assert job.report["unknown_words"] == [["低保户", 3], ["五保户", 1]]
    assert job.report["bad_rows"] == 4
    client = login(secretary_a)
    page = client.get(reverse("residents:import_job", args=[job.pk])).content.decode()
    assert "低保户" in page and 'name="word:低保户"' in page

    # A commit with the words still unknown is refused (nothing written)…
    client.post(reverse("residents:import_commit", args=[job.pk]))
    assert not VulnerableTag.objects.exists()
    # …mapping them checks the list again, and the next list of the community knows them.
    client.post(
        reverse("residents:import_map", args=[job.pk]),
        {"word:低保户": "other", "word:五保户": "elderly_alone"},
    )
    job.refresh_from_db()
    assert job.state == ImportJob.State.CHECKED and job.report["bad_rows"] == 0
    assert set(CategoryMapping.objects.values_list("word", "category")) == {
        ("低保户", "other"),
        ("五保户", "elderly_alone"),
    }
    client.post(reverse("residents:import_commit", args=[job.pk]))
    assert VulnerableTag.objects.filter(category="other").count() == 3


def test_a_mapping_to_an_unknown_category_is_refused(secretary_a, compound_a, tmp_path):
    path = write_xlsx(tmp_path / "l.xlsx", [row(1, "王芳", "101", "低保户")])
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    job = services.import_job_check(
        job_id=services.import_job_create(
            by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
        ).pk
    )
    from wuyi.lib.errors import Refused

    with pytest.raises(Refused):
        services.category_words_map(by=secretary_a, job=job, words={"低保户": "rich"})
    assert not CategoryMapping.objects.exists()


def test_an_address_with_the_compound_name_is_understood(tmp_path, compound_a, community_a):
    yunxiang = CompoundFactory(community=community_a, name="云祥小区")
    BuildingFactory(compound=yunxiang, number="5", floor_count=18)
    header = ["姓名", "地址"]
    path = write_xlsx(
        tmp_path / "a.xlsx",
        [["王芳", "云祥小区5号楼3单元601"], ["李明", "幸福小区5号楼3单元601"]],
        header=header,
    )
    report = services.resident_import(
        path=path, community_id=community_a.pk, compound_id=None, by=None, dry_run=True
    )
    assert report["new"] == 1 and report["bad_rows"] == 1
    assert len(report["errors"]) == 1  # one clear error for the unknown compound, not three
    assert "幸福小区" in report["errors"][0]["message"]


def test_a_room_the_building_cannot_have_is_refused(tmp_path, compound_a):
    report = services.resident_import(
        path=write_xlsx(tmp_path / "l.xlsx", [row(1, "王芳", "99901")]),
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=None,
        dry_run=True,
    )
    assert report["bad_rows"] == 1
    assert "999" in report["errors"][0]["message"]


def test_the_error_list_shows_the_offending_value(tmp_path, compound_a):
    rows = [[1, "王芳", "", "", "1389311234", "1", "1", "101", "", "", ""]]
    report = services.resident_import(
        path=write_xlsx(tmp_path / "l.xlsx", rows),
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=None,
        dry_run=True,
    )
    error = report["errors"][0]
    assert error["column"] == "联系电话" and error["value"]
    assert "1389311234" not in error["value"]  # a phone is shown masked even here


def test_a_community_with_one_compound_is_not_asked(login, secretary_a, compound_a):
    page = login(secretary_a).get(reverse("residents:import")).content.decode()
    assert 'type="hidden" name="compound"' in page and compound_a.name in page


def test_a_community_with_several_compounds_asks_before_the_upload(
    login, secretary_a, compound_a, community_a
):
    CompoundFactory(community=community_a, name="云祥小区")
    page = login(secretary_a).get(reverse("residents:import")).content.decode()
    assert '<select name="compound"' in page and "云祥小区" in page


def test_the_template_reads_back_as_a_good_list(login, secretary_a, compound_a, tmp_path):
    response = login(secretary_a).get(reverse("residents:import_template"))
    content = b"".join(response.streaming_content)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    rows = list(workbook.worksheets[0].values)
    assert list(rows[0]) == HEADER and len(rows) == 2
    assert "孕产妇" in str(list(workbook.worksheets[1].values))
    path = tmp_path / "t.xlsx"
    path.write_bytes(content)
    report = services.resident_import(
        path=path,
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=None,
        dry_run=True,
    )
    assert report["new"] == 1 and report["bad_rows"] == 0, report


def test_exports_are_named_for_what_they_hold(login, secretary_a, compound_a):
    response = login(secretary_a).get(reverse("residents:export"))
    disposition = unquote(response["Content-Disposition"])
    assert ("ALPHA社区-居民名单-脱敏-" in disposition and disposition.endswith('.xlsx"')) or (
        "ALPHA社区-居民名单-脱敏-" in disposition
    )


def test_a_full_export_asks_for_its_purpose(login, secretary_a, compound_a):
    client = login(secretary_a)
    assert client.get(reverse("residents:export"), {"full": "1"}).status_code == 400
    page = client.get(reverse("residents:export_full"))
    assert page.status_code == 200 and 'name="purpose"' in page.content.decode()
    refused = client.post(reverse("residents:export_full"), {"confirm": "on"})
    assert refused.status_code == 400
    assert not PersonalDataAccess.objects.exists()
    response = client.post(
        reverse("residents:export_full"), {"purpose": "上报疾控中心", "confirm": "on"}
    )
    assert "完整" in unquote(response["Content-Disposition"])
    access = PersonalDataAccess.objects.get()
    assert access.kind == "export_full" and access.detail["purpose"] == "上报疾控中心"


def test_category_words_have_one_home():
    """The template's word sheet, the parser and the preview's choices read the same table."""
    assert rules.parse_categories("血透").treatment == "透析"
    assert all(value in dict(rules.CATEGORY_WORDS.items()).values() for value in ("other",))
