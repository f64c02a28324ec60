import pytest
from django.utils import timezone

from campaign import services
from campaign.models import Certificate, Check, ChecklistGroup, ChecklistItem, PublicityRecord

pytestmark = pytest.mark.django_db


def test_compound_list_shows_the_campaign_badge(login, eligible, compound_b, district_staff):
    body = login(district_staff).get("/compounds/").content.decode()
    assert f'class="badge ok" href="/campaign/compounds/{eligible.pk}/"' in body
    assert f'href="/campaign/compounds/{compound_b.pk}/"' in body


def test_progress_page_for_staff_not_for_volunteers(login, eligible, district_staff, volunteer):
    response = login(district_staff).get("/campaign/")
    assert response.status_code == 200 and eligible.name in response.content.decode()
    assert login(district_staff).get("/campaign/?stage=bogus").status_code == 400
    assert login(volunteer).get("/campaign/").status_code == 403


def test_secretary_cannot_certify_district_staff_can(login, eligible, secretary_a, district_staff):
    assert login(secretary_a).post(f"/campaign/compounds/{eligible.pk}/certify/").status_code == 403
    assert not Certificate.objects.exists()
    response = login(district_staff).post(f"/campaign/compounds/{eligible.pk}/certify/")
    cert = Certificate.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/campaign/certificates/{cert.pk}/"
    )
    page = login(district_staff).get(response["Location"]).content.decode()
    assert "<svg" in page and f"/campaign/v/{cert.token}/" in page


def test_ineligible_certify_is_refused_on_the_page(login, compound_b, district_staff, checklist):
    response = login(district_staff).post(
        f"/campaign/compounds/{compound_b.pk}/certify/", follow=True
    )
    assert "全员排查" in response.content.decode()
    assert not Certificate.objects.exists()


def test_check_form_needs_evidence(login, compound_a, secretary_a, secretary_b, checklist):
    url = f"/campaign/compounds/{compound_a.pk}/items/{checklist['evidence'].pk}/"
    response = login(secretary_a).post(url, {"met": "1", "note": ""})
    assert response.status_code == 400 and not Check.objects.exists()
    assert login(secretary_b).post(url, {"met": "1", "note": "x"}).status_code == 404
    response = login(secretary_a).post(url, {"met": "1", "note": "入户核查"})
    assert response.status_code == 302 and Check.objects.get().note == "入户核查"
    # A measured item has no check form.
    measured = f"/campaign/compounds/{compound_a.pk}/items/{checklist['measured'].pk}/"
    assert login(secretary_a).get(measured).status_code == 404


def test_checklist_edited_by_district_staff_only(login, district_staff, secretary_a, district):
    assert (
        login(secretary_a)
        .post("/campaign/checklist/", {"action": "group", "title": "x"})
        .status_code
        == 403
    )
    client = login(district_staff)
    assert (
        client.post(
            "/campaign/checklist/", {"action": "group", "title": "八个有（示例）"}
        ).status_code
        == 302
    )
    group = ChecklistGroup.objects.get()
    response = client.post(
        "/campaign/checklist/",
        {"action": "item", "group": group.pk, "text": "有医护人员", "kind": "medical"},
    )
    assert response.status_code == 302
    assert ChecklistItem.objects.get().kind == "medical"
    assert (
        client.post("/campaign/checklist/", {"action": "days", "no_case_days": "0"}).status_code
        == 400
    )


def test_publicity_page_refuses_absurd_counts(login, secretary_a, community_a):
    client = login(secretary_a)
    data = {
        "community": community_a.pk,
        "day": timezone.localdate().isoformat(),
        "kind": "poster",
        "place": "各楼",
        "note": "",
    }
    assert client.post("/campaign/publicity/", {**data, "count": "2000000"}).status_code == 400
    assert client.post("/campaign/publicity/", {**data, "count": "-3"}).status_code == 400
    assert not PublicityRecord.objects.exists()
    assert client.post("/campaign/publicity/", {**data, "count": "30"}).status_code == 302
    assert "30" in client.get("/campaign/publicity/").content.decode()


def test_texts_written_by_district_printed_by_secretary(login, district_staff, secretary_a):
    response = login(district_staff).post(
        "/campaign/texts/",
        {
            "kind": "code",
            "code-kind": "code",
            "code-title": "居民守则",
            "code-body": "配合核酸检测。",
        },
    )
    assert response.status_code == 302
    assert (
        login(secretary_a)
        .post(
            "/campaign/texts/",
            {"kind": "code", "code-kind": "code", "code-title": "x", "code-body": "y"},
        )
        .status_code
        == 403
    )
    page = login(secretary_a).get("/campaign/texts/code/print/").content.decode()
    assert "配合核酸检测。" in page
    assert login(secretary_a).get("/campaign/texts/letter/print/").status_code == 404


# ----------------------------------------------------------------------------- API


def test_api_assessments_and_certificates(
    client, eligible, compound_b, district_staff, secretary_b
):
    client.force_login(district_staff)
    body = client.get("/api/campaign/assessments/").json()
    by_id = {row["compound"]: row for row in body["results"]}
    assert by_id[eligible.pk]["eligible"] is True and by_id[compound_b.pk]["eligible"] is False
    one = client.get(f"/api/campaign/assessments/{eligible.pk}/").json()
    assert {i["text"] for i in one["items"]} == {"全员排查", "外来人员登记", "14天无新增"}
    cert = services.certificate_issue(compound_id=eligible.pk, by=district_staff)
    assert client.get("/api/campaign/certificates/").json()["results"][0]["number"] == cert.number
    assert client.get("/api/campaign/checklists/").json()["results"][0]["no_case_days"] == 14
    client.force_login(secretary_b)
    assert client.get(f"/api/campaign/assessments/{eligible.pk}/").status_code == 404
    assert client.get(f"/api/campaign/certificates/{cert.pk}/").status_code == 404
    assert client.get("/api/campaign/assessments/x/").status_code == 400


def test_api_publicity_bad_input_and_roles(client, community_a, secretary_a, volunteer):
    client.force_login(secretary_a)
    row = {
        "community": community_a.pk,
        "day": timezone.localdate().isoformat(),
        "kind": "banner",
        "place": "大门",
    }
    for count in (-1, 0, 1_000_001, "many"):
        response = client.post(
            "/api/campaign/publicity/", {**row, "count": count}, content_type="application/json"
        )
        assert response.status_code == 400 and "count" in response.json()
    assert not PublicityRecord.objects.exists()
    response = client.post(
        "/api/campaign/publicity/", {**row, "count": 12}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["recorded_by"] == secretary_a.pk
    client.force_login(volunteer)
    assert client.get("/api/campaign/publicity/").status_code == 404  # out of reach, as reads
    body = {**row, "count": 12}
    response = client.post("/api/campaign/publicity/", body, content_type="application/json")
    assert response.status_code == 403
