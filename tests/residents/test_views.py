import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from residents.models import Household, ImportJob, PersonalDataAccess, Resident, VulnerableTag
from residents.services import resident_save
from tests.residents.helpers import make_id, write_xlsx
from tests.residents.test_import import good_rows

ID = make_id(7, "19450101", female=True)


@pytest.fixture
def household(compound_a):
    return Household.objects.create(
        compound=compound_a, building=compound_a.buildings.get(number="1"), unit="2", room="501"
    )


@pytest.fixture
def resident(household, secretary_a):
    return resident_save(
        by=secretary_a,
        household=household,
        data={"name": "ALPHA张桂兰", "phone": "13893112345", "relation": "户主"},
        national_id=ID,
    )


def test_search_by_name_phone_room_and_id_digits(login, secretary_a, resident):
    client = login(secretary_a)
    for query in ("ALPHA张", "13893112345", "1号楼2单元501", "1-2-501", ID[-4:], ID):
        body = client.get(reverse("residents:list"), {"q": query}).content.decode()
        assert "ALPHA张桂兰" in body, query
    body = client.get(reverse("residents:list"), {"q": "李"}).content.decode()
    assert "ALPHA张桂兰" not in body


def test_list_shows_masked_values_only(login, secretary_a, resident):
    body = login(secretary_a).get(reverse("residents:list")).content.decode()
    assert "138****2345" in body
    assert "13893112345" not in body
    assert ID not in body


def test_list_query_count_is_constant(login, secretary_a, household, django_assert_max_num_queries):
    client = login(secretary_a)
    for n in range(30):
        resident = Resident(household=household, name=f"居民{n}")
        resident.save()
        VulnerableTag.objects.create(resident=resident, category="elderly")
    # Eight, and two for the marks other apps keep (screening: quarantine, temporary control).
    with django_assert_max_num_queries(10):
        client.get(reverse("residents:list"))


@pytest.mark.clock
def test_the_age_is_shown_in_the_readers_language(login, secretary_a, resident, household):
    """Born 1945-01-01 (from the ID number): 81 on 2026-12-04 in Shanghai, on the list, the
    household's page, the building's and the resident's own; a person without a birth date
    shows none (— on their page)."""
    import time_machine

    unknown = resident_save(by=secretary_a, household=household, data={"name": "李明"})
    client = login(secretary_a)
    with time_machine.travel("2026-12-04T10:00:00+08:00", tick=False):
        pages = [
            reverse("residents:list"),
            reverse("residents:household", args=[household.pk]),
            reverse("residents:building", args=[household.building_id]),
            reverse("residents:detail", args=[resident.pk]),
        ]
        for url in pages:
            assert "81岁" in client.get(url).content.decode(), url
        page = client.get(reverse("residents:detail", args=[unknown.pk])).content.decode()
        assert "岁" not in page


def test_reveal_is_recorded_and_only_for_secretaries(login, secretary_a, district_staff, resident):
    url = reverse("residents:reveal", args=[resident.pk])
    body = login(secretary_a).post(url).content.decode()
    assert ID in body and "13893112345" in body
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.kind, access.resident) == (secretary_a, "view", resident)
    assert login(district_staff).post(url).status_code == 403
    assert PersonalDataAccess.objects.count() == 1


def test_resident_detail_for_outsider_is_404(login, secretary_b, resident):
    assert (
        login(secretary_b).get(reverse("residents:detail", args=[resident.pk])).status_code == 404
    )


def test_edit_resident_keeps_id_when_left_blank(login, secretary_a, resident):
    response = login(secretary_a).post(
        reverse("residents:edit", args=[resident.pk]),
        {"name": "ALPHA张桂兰", "phone": "139 3112 0000", "national_id": ""},
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.phone == "13931120000"
    assert resident.national_id == ID
    assert resident.history.count() == 2


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "   "}, "name"),
        ({"name": "王五", "national_id": "110105194912310021"}, "check digit"),
        ({"name": "王五", "phone": "1389311234"}, "11 digits"),
        ({"name": "<b>王五</b>"}, "symbols"),
    ],
)
def test_create_resident_bad_input(login, secretary_a, household, data, fragment):
    client = login(secretary_a)
    client.post(reverse("set_language"), {"language": "en"})
    response = client.post(reverse("residents:create", args=[household.pk]), data)
    assert response.status_code == 400
    assert fragment in response.content.decode()
    assert not Resident.objects.exists()


def test_duplicate_id_is_refused(login, secretary_a, resident, household):
    response = login(secretary_a).post(
        reverse("residents:create", args=[household.pk]), {"name": "冒名", "national_id": ID}
    )
    assert response.status_code == 400
    assert Resident.objects.count() == 1


def test_volunteer_cannot_edit(login, volunteer, district_staff, resident, household):
    """Not the volunteer's pages at all (404); district staff read them but may not edit."""
    client = login(volunteer)
    assert client.get(reverse("residents:detail", args=[resident.pk])).status_code == 404
    assert client.get(reverse("residents:edit", args=[resident.pk])).status_code == 404
    assert (
        client.post(reverse("residents:create", args=[household.pk]), {"name": "x"}).status_code
        == 404
    )
    client = login(district_staff)
    assert client.get(reverse("residents:detail", args=[resident.pk])).status_code == 200
    assert client.get(reverse("residents:edit", args=[resident.pk])).status_code == 403
    assert (
        client.post(reverse("residents:create", args=[household.pk]), {"name": "x"}).status_code
        == 403
    )


def test_ledger_filters_and_tags(login, secretary_a, resident):
    client = login(secretary_a)
    client.post(
        reverse("residents:tag_add", args=[resident.pk]),
        {"category": "chronic", "treatment": "透析", "schedule": "周一三五"},
    )
    body = client.get(reverse("residents:ledger"), {"category": "chronic"}).content.decode()
    assert "ALPHA张桂兰" in body and "透析" in body
    body = client.get(reverse("residents:ledger"), {"category": "pregnant"}).content.decode()
    assert "ALPHA张桂兰" not in body
    tag = VulnerableTag.objects.get()
    client.post(reverse("residents:tag_remove", args=[resident.pk, tag.pk]))
    assert not VulnerableTag.objects.exists()


def read_export(response):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_export_masked_escaped_and_recorded(login, secretary_a, resident, household):
    Resident.objects.create(household=household, name='=HYPERLINK("http://x","y")')
    response = login(secretary_a).get(reverse("residents:export"))
    rows = read_export(response)
    assert rows[0][2] == "姓名"
    flat = [str(c) for row in rows for c in row]
    assert ID not in flat and "13893112345" not in flat
    assert "138****2345" in flat
    assert '\'=HYPERLINK("http://x","y")' in flat
    record = PersonalDataAccess.objects.get()
    assert (record.kind, record.row_count) == ("export", 2)


def test_full_export_needs_the_role(login, secretary_a, district_staff, resident):
    response = login(secretary_a).post(
        reverse("residents:export_full"), {"purpose": "上报疾控中心", "confirm": "on"}
    )
    assert ID in [str(c) for row in read_export(response) for c in row]
    assert PersonalDataAccess.objects.get().kind == "export_full"
    staff = login(district_staff)
    assert staff.get(reverse("residents:export_full")).status_code == 403
    response = staff.post(reverse("residents:export_full"), {"purpose": "x", "confirm": "on"})
    assert response.status_code == 403


def test_export_outsider_gets_nothing_of_a(login, secretary_b, resident):
    rows = read_export(login(secretary_b).get(reverse("residents:export")))
    assert len(rows) == 1  # the header only


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_import_preview_then_commit(login, secretary_a, compound_a, tmp_path):
    client = login(secretary_a)
    path = write_xlsx(tmp_path / "居民.xlsx", good_rows())
    response = client.post(
        reverse("residents:import"),
        {"file": upload("居民.xlsx", path.read_bytes()), "compound": compound_a.pk},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "residents:import_job", args=[job.pk]
    )
    assert job.state == "checked" and job.report["new"] == 4
    assert not Resident.objects.exists()
    page = client.get(response.url).content.decode()
    assert "import_commit" in page or reverse("residents:import_commit", args=[job.pk]) in page
    client.post(reverse("residents:import_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "done"
    assert Resident.objects.count() == 4
    # A double submit imports nothing more.
    client.post(reverse("residents:import_commit", args=[job.pk]))
    assert Resident.objects.count() == 4


def test_import_with_bad_rows_needs_the_skip_choice(login, secretary_a, compound_a, tmp_path):
    client = login(secretary_a)
    rows = good_rows()
    rows[0][4] = "1389311234"
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    client.post(
        reverse("residents:import"),
        {"file": upload("bad.xlsx", path.read_bytes()), "compound": compound_a.pk},
    )
    job = ImportJob.objects.get()
    page = client.get(reverse("residents:import_job", args=[job.pk])).content.decode()
    assert "联系电话" in page and "skip_bad_rows" in page
    client.post(reverse("residents:import_commit", args=[job.pk]))
    assert not Resident.objects.exists()
    client.post(reverse("residents:import_commit", args=[job.pk]), {"skip_bad_rows": "1"})
    assert Resident.objects.count() == 3


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("notes.pdf", b"%PDF-1.4", "not an Excel or csv"),
        ("empty.xlsx", b"", "empty"),
    ],
)
def test_import_refuses_bad_uploads(login, secretary_a, compound_a, name, content, fragment):
    client = login(secretary_a)
    client.post(reverse("set_language"), {"language": "en"})
    response = client.post(
        reverse("residents:import"), {"file": upload(name, content), "compound": compound_a.pk}
    )
    assert response.status_code == 400
    assert fragment in response.content.decode()
    assert not ImportJob.objects.exists()


def test_import_refuses_a_file_over_the_limit(login, secretary_a, compound_a, settings):
    settings.WUYI_IMPORT_MAX_BYTES = 1024
    client = login(secretary_a)
    response = client.post(
        reverse("residents:import"),
        {"file": upload("big.xlsx", b"PK\x03\x04" + b"0" * 4096), "compound": compound_a.pk},
    )
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_fifty_megabyte_file_is_refused(login, secretary_a, compound_a, tmp_path):
    big = tmp_path / "big.xlsx"
    with big.open("wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.seek(50 * 1024 * 1024)
        fh.write(b"\0")
    client = login(secretary_a)
    client.post(reverse("set_language"), {"language": "en"})
    with big.open("rb") as fh:
        response = client.post(reverse("residents:import"), {"file": fh, "compound": compound_a.pk})
    # Refused from its Content-Length before the body is read (wuyi.middleware.BodyLimit).
    assert response.status_code == 413
    assert not ImportJob.objects.exists() and not Resident.objects.exists()


def test_import_job_of_other_community_is_404(
    login, secretary_a, secretary_b, compound_a, tmp_path
):
    path = write_xlsx(tmp_path / "居民.xlsx", good_rows())
    login(secretary_a).post(
        reverse("residents:import"),
        {"file": upload("居民.xlsx", path.read_bytes()), "compound": compound_a.pk},
    )
    job = ImportJob.objects.get()
    client = login(secretary_b)
    assert client.get(reverse("residents:import_job", args=[job.pk])).status_code == 404
    assert client.post(reverse("residents:import_commit", args=[job.pk])).status_code == 404
    assert not Resident.objects.exists()


def test_big_import_runs_on_the_worker(
    login, secretary_a, compound_a, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.WUYI_IMPORT_BACKGROUND_BYTES = 10
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from wuyi.celery import app

    app.conf.task_always_eager = True
    try:
        client = login(secretary_a)
        path = write_xlsx(tmp_path / "居民.xlsx", good_rows())
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("residents:import"),
                {"file": upload("居民.xlsx", path.read_bytes()), "compound": compound_a.pk},
            )
        job = ImportJob.objects.get()
        assert job.state == "checked"
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("residents:import_commit", args=[job.pk]))
        job.refresh_from_db()
        assert job.state == "done" and Resident.objects.count() == 4
    finally:
        app.conf.task_always_eager = False


def test_import_status_polls_while_running(login, secretary_a, compound_a):
    job = ImportJob.objects.create(
        user=secretary_a,
        community=compound_a.community,
        filename="x.xlsx",
        path="/nonexistent",
        state="checking",
    )
    body = (
        login(secretary_a)
        .get(reverse("residents:import_job", args=[job.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'hx-trigger="every 1s"' in body and "<progress" in body


def test_html_in_a_name_renders_escaped(login, secretary_a, household):
    Resident.objects.create(household=household, name="<img src=x onerror=alert(1)>")
    client = login(secretary_a)
    for url in (reverse("residents:list"), reverse("residents:household", args=[household.pk])):
        body = client.get(url).content.decode()
        assert "<img src=x" not in body and "&lt;img src=x" in body


def test_admin_export_is_masked_and_scoped(login, secretary_a, secretary_b, resident):
    from residents.resources import ResidentResource

    dataset = ResidentResource().export(queryset=Resident.objects.visible_to(secretary_a))
    assert dataset.headers[:5] == ["id", "户号", "小区", "地址", "姓名"]
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["身份证号"] == resident.masked_national_id and row["联系电话"] == "138****2345"
    assert len(ResidentResource().export(queryset=Resident.objects.visible_to(secretary_b))) == 0
