"""The daily report counts each provider's figures once per district, grouped by community,
and finds for every community what that community counted alone would show; the overview's
figures of the last wave (coverage, stages, care and quarantine alerts)."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compounds import figures as registry
from compounds.figures import Contribution, Figure, Places
from compounds.models import Community, Compound
from dashboards import reports
from dashboards.selectors import dashboard
from tests.factories import (
    CertificateFactory,
    CommunityFactory,
    CompoundFactory,
    EscortFactory,
    ExemptionFactory,
    HealthReportFactory,
    OrderFactory,
    PositiveCaseFactory,
    QuarantineFactory,
    ResidentFactory,
    RoundFactory,
    SampleFactory,
    StatusChangeFactory,
    TubeFactory,
    WelfareCheckFactory,
)
from tests.screening import factories as screening

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
EVENING = datetime.datetime(2026, 12, 3, 19, 30, tzinfo=SHANGHAI)
NOON = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=SHANGHAI)
TODAY = EVENING.date()


@pytest.fixture
def evening():
    with time_machine.travel(EVENING, tick=False):
        yield


def _activity(compound: Compound, *, busy: bool) -> None:
    """Something for every provider to count; `busy` doubles it and adds what the other lacks."""
    n = 2 if busy else 1
    for _ in range(n):
        RoundFactory(compound=compound, done_at=EVENING - datetime.timedelta(hours=3))
        WelfareCheckFactory(compound=compound, outcome="visited")
        QuarantineFactory(compound=compound)
    RoundFactory(compound=compound)
    # Delivered after 3 (and 5) hours: the median time from order to delivery.
    for hours in (3, 5) if busy else (3,):
        OrderFactory(
            compound=compound,
            status="delivered",
            submitted_at=EVENING - datetime.timedelta(hours=hours + 1),
            delivered_at=EVENING - datetime.timedelta(hours=1),
        )
    if busy:
        PositiveCaseFactory(compound=compound, found_on=TODAY - datetime.timedelta(days=3))
        OrderFactory(compound=compound)
        WelfareCheckFactory(compound=compound, outcome="not_reached")
        CertificateFactory(compound=compound, status="valid")
        EscortFactory(compound=compound)


def _by_key(figures: list[Figure]) -> dict[str, Figure]:
    return {f.key: f for f in figures}


def test_report_finds_for_each_community_what_it_counts_alone(
    evening, district, community_a, community_b, compound_a, compound_b
):
    _activity(compound_a, busy=True)
    _activity(compound_b, busy=False)
    quiet = CommunityFactory(subdistrict=community_a.subdistrict, name="无事社区")
    CompoundFactory(community=quiet)
    communities = list(Community.objects.filter(subdistrict__district=district))
    now = reports._as_of(TODAY)
    whole = Places(
        compounds=Compound.objects.filter(district=district),
        day=TODAY,
        now=now,
        brief=True,
        by_community=True,
    )
    for provider in registry.figure_providers():
        together = _by_key(provider(whole).figures)
        alone = _by_key(reports._asked_per_community(provider, communities, TODAY, now))
        assert together.keys() == alone.keys(), provider
        for key, figure in together.items():
            assert figure.per is not None, f"{key} is not split by community"
            for community in communities:
                assert figure.per[community.pk] == alone[key].per[community.pk], (
                    key,
                    community.name,
                )
    sections = {s.title: s for s in reports.report_sections(district, TODAY)}
    status = sections["管控状态"] if "管控状态" in sections else sections["Control status"]
    rows = {row[1]: row for row in status.rows}
    assert set(rows) == {community_a.name, community_b.name, quiet.name}
    # Days since the last case: 3 where it was found, nothing to count where none was.
    days = status.columns.index(next(c for c in status.columns if "(" in c))
    assert rows[community_a.name][days] == 3 and rows[quiet.name][days] is None
    (supplies,) = [s for s in sections.values() if s.title == "物资"]
    median = supplies.columns.index(next(c for c in supplies.columns if "中位" in c))
    supplied = {row[1]: row[median] for row in supplies.rows}
    assert supplied == {community_a.name: 4.0, community_b.name: 3.0, quiet.name: None}


def test_report_queries_do_not_grow_with_the_communities(evening, district, compound_a, compound_b):
    _activity(compound_a, busy=True)
    reports.report_sections(district, TODAY)  # the counts kept for 15 minutes, made
    with CaptureQueriesContext(connection) as few:
        reports.report_sections(district, TODAY)
    for i in range(4):
        community = CommunityFactory(subdistrict=compound_a.subdistrict, name=f"新社区{i}")
        _activity(CompoundFactory(community=community), busy=bool(i % 2))
    cache.clear()
    reports.report_sections(district, TODAY)
    with CaptureQueriesContext(connection) as many:
        sections = reports.report_sections(district, TODAY)
    assert len(many) == len(few)
    assert all(len(s.rows) == 6 for s in sections)


def test_a_provider_that_does_not_split_is_asked_per_community(
    monkeypatch, evening, district, community_a, community_b, compound_a, compound_b
):
    def named(places):
        names = ",".join(sorted(places.compounds.values_list("name", flat=True)))
        return Contribution(figures=[Figure("x.names", "X", "Names", len(names))])

    monkeypatch.setattr(registry, "_providers", [named])
    (section,) = reports.report_sections(district, TODAY)
    assert [r[2] for r in section.rows] == [len(compound_a.name), len(compound_b.name)]


def test_vulnerable_residents_with_no_contact_by_evening(
    district, district_staff, compound_a, compound_b
):
    with time_machine.travel(NOON, tick=False):
        WelfareCheckFactory(compound=compound_a)  # open
        WelfareCheckFactory(compound=compound_a, outcome="not_reached")
        WelfareCheckFactory(compound=compound_b, outcome="phone")
        board = dashboard(user=district_staff, level="district", place_id=district.pk)
        assert "care-no-contact" not in {a.key for a in board.alerts}  # the day is young
    with time_machine.travel(EVENING, tick=False):
        board = dashboard(user=district_staff, level="district", place_id=district.pk)
    alert = next(a for a in board.alerts if a.key == "care-no-contact")
    assert alert.count == 2 and alert.danger
    assert [name for name, _url in alert.items] == [compound_a.name]
    assert alert.url.endswith("/ledger/") and alert.items[0][1]


def test_campaign_stages_and_the_last_rounds_coverage(
    evening, district, district_staff, secretary_b, compound_a, compound_b
):
    Compound.objects.filter(pk=compound_b.pk).update(status="sealed")
    CertificateFactory(compound=compound_a, status="valid")
    people = [ResidentFactory(compound=compound_a) for _ in range(4)]
    earlier = screening.TestingRoundFactory(
        compound=compound_a, starts_on=TODAY - datetime.timedelta(3)
    )
    last = screening.TestingRoundFactory(compound=compound_a, number=earlier.number + 1)
    tube = TubeFactory(compound=compound_a, round=last)
    SampleFactory(compound=compound_a, tube=tube, resident=people[0])
    SampleFactory(compound=compound_a, tube=tube, resident=people[1])
    ExemptionFactory(compound=compound_a, round=last, resident=people[2])
    old_tube = TubeFactory(compound=compound_a, round=earlier)
    for person in people:
        SampleFactory(compound=compound_a, tube=old_tube, resident=person)

    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    values = {f.key: f.value for f in board.figures}
    assert values["campaign.stage.certified"] == 1 and values["campaign.stage.sealed"] == 1
    # Compound A: 2 of the 3 due (one exempt); compound B has nobody: 2 of 3 in the district.
    assert values["screening.coverage"] == 67 and values["screening.missing"] == 1
    chart = next(c for c in board.charts if c.key == "screening.coverage_per_round")
    assert chart.series[0][1] == [100, 50]  # 4 then 2 sampled, of the 4 registered now
    figure = next(f for f in board.figures if f.key == "screening.coverage")
    assert figure.url and str(last.number) in figure.note
    # Community B's secretary: none of A's residents or samples.
    theirs = {
        f.key: f.value
        for f in dashboard(
            user=secretary_b, level="community", place_id=compound_b.community_id
        ).figures
    }
    assert theirs["screening.coverage"] is None and theirs["campaign.stage.certified"] == 0


def test_overdue_health_reports_alert(evening, district, district_staff, compound_a):
    two_days = TODAY - datetime.timedelta(days=2)
    late = QuarantineFactory(compound=compound_a, starts_on=two_days)
    reported = QuarantineFactory(compound=compound_a, starts_on=two_days)
    HealthReportFactory(compound=compound_a, quarantine=reported, day=TODAY - datetime.timedelta(1))
    QuarantineFactory(compound=compound_a)  # started today: owes nothing yet
    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    alert = next(a for a in board.alerts if a.key == "screening-overdue")
    assert alert.count == 1 and "#overdue" in alert.url
    HealthReportFactory(compound=compound_a, quarantine=late, day=TODAY - datetime.timedelta(1))
    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    assert "screening-overdue" not in {a.key for a in board.alerts}


def test_every_figure_says_what_it_counts_and_links_to_its_list(
    evening, district, district_staff, compound_a
):
    _activity(compound_a, busy=True)
    screening.TestingRoundFactory(compound=compound_a)
    board = dashboard(user=district_staff, level="district", place_id=district.pk)
    assert len(board.figures) > 30
    assert [f.key for f in board.figures if not (f.note and f.url)] == []


def test_a_past_days_report_counts_the_statuses_of_that_day(
    evening, district, community_a, community_b
):
    sealed = CompoundFactory(community=community_a, status="sealed")
    CompoundFactory(community=community_b, status="normal")
    StatusChangeFactory(
        compound=sealed,
        from_status="normal",
        to_status="sealed",
        changed_at=EVENING - datetime.timedelta(hours=8),
    )

    def status_rows(day):
        (status,) = [s for s in reports.report_sections(district, day) if s.title == "管控状态"]
        sealed_col = status.columns.index("封控区")
        normal_col = status.columns.index("常态")
        return {r[1]: (r[normal_col], r[sealed_col]) for r in status.rows}

    assert status_rows(TODAY)[community_a.name] == (0, 1)
    # The day before it was sealed: normal, from the status history.
    assert status_rows(TODAY - datetime.timedelta(days=1))[community_a.name] == (1, 0)
    assert status_rows(TODAY - datetime.timedelta(days=1))[community_b.name] == (1, 0)


def test_the_api_lists_each_alert_with_the_places_it_names(
    evening, login, district, district_staff, secretary_b, compound_a, compound_b
):
    Compound.objects.filter(pk=compound_a.pk).update(status="sealed", name="封控甲")
    WelfareCheckFactory(compound=compound_b)
    answer = login(district_staff).get("/api/overview/", {"level": "district", "id": district.pk})
    alerts = {a["key"]: a for a in answer.json()["alerts"]}
    assert [i["name"] for i in alerts["medical-gaps"]["items"]] == ["封控甲"]
    assert alerts["care-no-contact"]["count"] == 1 and alerts["care-no-contact"]["items"]
    # Community B's secretary: the medical gap of community A is not hers.
    theirs = login(secretary_b).get("/api/overview/").json()
    assert "medical-gaps" not in {a["key"] for a in theirs["alerts"]}
    assert {a["key"] for a in theirs["alerts"]} >= {"care-no-contact"}


def test_refresh_figures_makes_the_15_minute_counts_again(
    evening, capsys, district, district_staff, compound_a
):
    from django.core.management import call_command

    from dashboards.tasks import refresh_figures
    from tests.factories import VulnerableTagFactory

    def vulnerable():
        board = dashboard(user=district_staff, level="district", place_id=district.pk)
        return {f.key: f.value for f in board.figures}["residents.vulnerable"]

    assert vulnerable() == 0
    VulnerableTagFactory(compound=compound_a, category="elderly_alone")
    assert vulnerable() == 0  # counted every 15 minutes: not yet
    call_command("refresh_figures")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "1 compound(s) made again" in last
    assert vulnerable() == 1
    assert "1 compound(s)" in refresh_figures()
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["refresh-figures"]["task"] == "dashboards.refresh_figures"
