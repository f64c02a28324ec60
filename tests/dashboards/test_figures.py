"""The overview's figures come from every app's providers (compounds.figures), counted in the
database for the places the user may see; the daily report writes them per community."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from compounds import figures as registry
from compounds.models import ControlStatus
from compounds.plugins import status_figures
from dashboards.selectors import dashboard
from tests.factories import (
    AmbulanceFactory,
    CompoundFactory,
    MedicalStaffFactory,
    PositiveCaseFactory,
    RoundFactory,
    StatusChangeFactory,
    SubdistrictFactory,
    UserFactory,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EVENING = datetime.datetime(2026, 12, 3, 19, 30, tzinfo=SHANGHAI)
TODAY = EVENING.date()


@pytest.fixture
def evening():
    with time_machine.travel(EVENING, tick=False):
        yield


def _values(board):
    return {f.key: f.value for f in board.figures}


def test_figures_of_every_app_for_the_district(
    evening, district, district_staff, community_a, compound_a, compound_b
):
    sealed = CompoundFactory(community=community_a, status="sealed", name="封控小区")
    StatusChangeFactory(
        compound=sealed,
        from_status="normal",
        to_status="sealed",
        changed_at=EVENING - datetime.timedelta(days=3),
    )
    PositiveCaseFactory(compound=sealed, found_on=TODAY - datetime.timedelta(days=2))
    RoundFactory(compound=sealed, done_at=EVENING - datetime.timedelta(hours=5))
    RoundFactory(compound=sealed)
    RoundFactory(compound=sealed)

    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    values = _values(board)
    assert values["compounds.total"] == 3
    assert values["compounds.sealed"] == 1
    assert values["compounds.days_since_case"] == 2
    assert values["compounds.cases_7d"] == 1
    assert values["sanitation.rounds"] == 3 and values["sanitation.done"] == 1
    assert values["sanitation.completion"] == 33
    assert values["supplies.waiting"] == 0
    assert values["messaging.sent_today"] == 0
    assert "volunteers.on_duty" in values and "residents.vulnerable" in values

    trend = next(c for c in board.charts if c.key == "compounds.status_trend")
    sealed_series = trend.series[ControlStatus.values.index("sealed")][1]
    assert len(trend.labels) == 28
    # Sealed three days ago: not sealed the days before, sealed since.
    assert sealed_series[-1] == 1 and sealed_series[-3] == 1 and sealed_series[-5] == 0

    alerts = {a.key: a for a in board.alerts}
    # Sealed without a medical worker or ambulances; after 18:00 with 1 of 3 rounds done.
    assert alerts["medical-gaps"].count == 1
    assert alerts["medical-gaps"].items[0][0] == "封控小区"
    assert alerts["sanitation-low"].count == 1


def test_alerts_go_when_put_right(evening, district, district_staff, community_a):
    sealed = CompoundFactory(community=community_a, status="sealed")
    MedicalStaffFactory(compound=sealed)
    AmbulanceFactory(compound=sealed)
    AmbulanceFactory(compound=sealed)
    RoundFactory(compound=sealed, done_at=EVENING)
    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    assert not {"medical-gaps", "sanitation-low"} & {a.key for a in board.alerts}


def test_a_provider_not_installed_shows_nothing(
    monkeypatch, evening, district, district_staff, compound_a
):
    monkeypatch.setattr(registry, "_providers", [status_figures])
    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    assert {f.section for f in board.figures} == {"管控状态"} or all(
        f.key.startswith("compounds.") for f in board.figures
    )


def test_secretary_counts_only_her_community(
    evening, login, district, secretary_a, community_a, community_b, compound_a, compound_b
):
    CompoundFactory(community=community_b, status="sealed")
    page = login(secretary_a).get(reverse("dashboards:overview"), follow=True)
    assert page.status_code == 200
    values = _values(page.context["board"])
    assert values["compounds.total"] == 1 and values["compounds.sealed"] == 0
    # The district page counts only what she may see.
    page = login(secretary_a).get(reverse("dashboards:area", args=["district", district.pk]))
    assert _values(page.context["board"])["compounds.total"] == 1
    # A compound of the other community is not hers.
    other = community_b.compounds.first()
    assert (
        login(secretary_a).get(reverse("dashboards:area", args=["compound", other.pk])).status_code
        == 404
    )


def test_subdistrict_staff_see_their_subdistrict_only(
    evening, login, district, subdistrict, compound_a
):
    other_sub = SubdistrictFactory(district=district)
    elsewhere = CompoundFactory(community__subdistrict=other_sub, status="sealed")
    staff = UserFactory(role=Role.SUBDISTRICT_STAFF, posted_to=subdistrict)
    client = login(staff)
    page = client.get(reverse("dashboards:overview"), follow=True)
    assert _values(page.context["board"])["compounds.total"] == 1
    assert (
        client.get(reverse("dashboards:area", args=["subdistrict", other_sub.pk])).status_code
        == 404
    )
    assert (
        client.get(reverse("dashboards:area", args=["compound", elsewhere.pk])).status_code == 404
    )
    # The district's daily report holds other sub-districts: not theirs.
    assert client.get(reverse("dashboards:reports")).status_code == 403


def test_compound_level_and_grid(evening, login, district_staff, district, compound_a):
    client = login(district_staff)
    page = client.get(reverse("dashboards:area", args=["district", district.pk]))
    html = page.content.decode()
    assert reverse("dashboards:area", args=["compound", compound_a.pk]) in html
    assert 'id="charts-data"' in html and "chart-4.6.1.umd.min.js" in html
    page = client.get(reverse("dashboards:area", args=["compound", compound_a.pk]))
    assert page.status_code == 200
    assert _values(page.context["board"])["compounds.total"] == 1
    assert [c[2] for c in page.context["breadcrumbs"]][-1] == compound_a.name


def test_daily_report_one_row_per_community(
    evening,
    settings,
    tmp_path,
    login,
    district,
    district_staff,
    secretary_a,
    community_a,
    community_b,
    compound_a,
    compound_b,
    capsys,
):
    from openpyxl import load_workbook

    settings.WUYI_REPORT_DIR = tmp_path
    call_command("daily_report", "--date", TODAY.isoformat())
    last = capsys.readouterr().out.strip().splitlines()[-1]
    path = tmp_path / TODAY.isoformat() / f"{district.code}.xlsx"
    assert "wrote 1 file(s) (0 replaced)" in last and str(path) in last
    workbook = load_workbook(path, read_only=True)
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert [r[1] for r in rows[1:]] == [community_a.name, community_b.name], sheet.title
    workbook.close()
    # Again: the same file, replaced whole.
    call_command("daily_report", "--date", TODAY.isoformat(), "--district", district.code)
    assert "(1 replaced)" in capsys.readouterr().out.strip().splitlines()[-1]

    client = login(district_staff)
    assert TODAY.isoformat() in client.get(reverse("dashboards:reports")).content.decode()
    page = client.get(reverse("dashboards:report", args=[district.pk, TODAY.isoformat()]))
    assert page.status_code == 200 and community_b.name in page.content.decode()
    xlsx = client.get(reverse("dashboards:report_xlsx", args=[district.pk, TODAY.isoformat()]))
    assert xlsx.status_code == 200 and "no-store" in xlsx["Cache-Control"]
    assert (
        client.get(reverse("dashboards:report", args=[district.pk, "2026-11-01"])).status_code
        == 404
    )
    assert (
        client.get(reverse("dashboards:report", args=[district.pk, "yesterday"])).status_code == 400
    )
    # Secretaries do not read the district's report; another district's staff do not find it.
    assert login(secretary_a).get(reverse("dashboards:reports")).status_code == 403
    stranger = UserFactory(role=Role.DISTRICT_STAFF, posted_to=CompoundFactory().district)
    assert (
        login(stranger)
        .get(reverse("dashboards:report", args=[district.pk, TODAY.isoformat()]))
        .status_code
        == 404
    )


def test_daily_report_refuses_bad_arguments(evening, district):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--date"):
        call_command("daily_report", "--date", "2026-13-01")
    with pytest.raises(CommandError, match="--date"):
        call_command("daily_report", "--date", "2026-12-05")
    with pytest.raises(CommandError, match="--district"):
        call_command("daily_report", "--district", "nowhere")


def test_beat_writes_the_report(evening, settings, tmp_path, district):
    from dashboards.tasks import daily_report

    settings.WUYI_REPORT_DIR = tmp_path
    assert "wrote 1 file(s)" in daily_report()
    assert "daily-report" in settings.CELERY_BEAT_SCHEDULE


def test_api_returns_the_same_figures_scoped(
    evening, login, district, district_staff, secretary_a, community_a, compound_a, compound_b
):
    response = login(district_staff).get("/api/overview/", {"level": "district", "id": district.pk})
    assert response.status_code == 200
    values = {f["key"]: f["value"] for f in response.json()["figures"]}
    assert values["compounds.total"] == 2
    mine = login(secretary_a).get("/api/overview/").json()
    assert {f["key"]: f["value"] for f in mine["figures"]}["compounds.total"] == 1
    assert (
        login(secretary_a)
        .get("/api/overview/", {"level": "compound", "id": compound_b.pk})
        .status_code
        == 404
    )
    assert login(district_staff).get("/api/overview/", {"level": "planet"}).status_code == 400


def test_admin_index_links_to_the_overview(login, secretary_a):
    page = login(secretary_a).get(reverse("admin:index"))
    assert page.status_code == 200
    assert reverse("dashboards:overview") in page.content.decode()


def test_screening_care_and_campaign_figures(
    evening, district, district_staff, secretary_b, compound_a, compound_b
):
    """The apps of the last wave plug their figures in: counted for the places asked, today."""
    from tests.factories import (
        CertificateFactory,
        QuarantineFactory,
        RetestFactory,
        SampleFactory,
        TubeFactory,
        WelfareCheckFactory,
    )

    SampleFactory(compound=compound_a, taken_at=EVENING - datetime.timedelta(hours=2))
    yesterday = EVENING - datetime.timedelta(days=1)
    SampleFactory(
        compound=compound_a,
        taken_at=yesterday,
        tube=TubeFactory(compound=compound_a, opened_at=yesterday),
    )
    RetestFactory(compound=compound_a)  # its pool's sample taken now: today
    QuarantineFactory(compound=compound_a)
    QuarantineFactory(compound=compound_b, released_at=EVENING)
    WelfareCheckFactory(compound=compound_a, outcome="visited")
    WelfareCheckFactory(compound=compound_a, outcome="not_reached")
    WelfareCheckFactory(compound=compound_a)
    WelfareCheckFactory(compound=compound_a, date=TODAY - datetime.timedelta(days=1))
    CertificateFactory(compound=compound_a, status="valid")
    CertificateFactory(compound=compound_b, revoked_at=EVENING - datetime.timedelta(days=2))

    values = _values(dashboard(user=district_staff, level="district", place_id=district.pk))
    assert values["screening.sampled"] == 2  # today's sample and the retest pool's
    assert values["screening.retests"] == 1
    assert values["screening.quarantine"] == 1  # the released one no longer counts
    assert values["care.checks"] == 3
    assert values["care.done"] == 2 and values["care.not_reached"] == 1
    assert values["campaign.certified"] == 1 and values["campaign.revoked"] == 1

    # Community B's secretary counts her community only: nothing of compound A.
    theirs = _values(
        dashboard(user=secretary_b, level="community", place_id=compound_b.community_id)
    )
    assert theirs.get("care.checks", 0) == 0 and theirs.get("screening.sampled", 0) == 0
