"""Screening: rounds, scans, the lab's sheet, what a positive sets off, cases and contacts,
coverage. Each bad input is refused with nothing written."""

import datetime
import itertools
import uuid

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse

from compounds.models import ControlStatus, PositiveCase
from messaging.models import Message, SmsTemplate
from residents.models import Resident
from screening import importing, rules, selectors, services
from screening.models import (
    HealthReport,
    PersonKind,
    Quarantine,
    Result,
    ResultImport,
    Retest,
    RetestStatus,
    RoundStatus,
    Sample,
    TemporaryControl,
    Tube,
    TubeStatus,
)
from tests.factories import (
    BuildingFactory,
    DistrictFactory,
    HouseholdFactory,
    ResidentFactory,
)
from tests.residents.helpers import make_id
from tests.residents.test_hostile_files import entity_expansion, xlsx
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import MoveRefused

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 3, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


_serials = itertools.count()


def people(compound, n, *, start=0):
    """n residents, two to a household, each with its own ID number."""
    out = []
    household = None
    for i in range(n):
        if i % 2 == 0:
            household = HouseholdFactory(compound=compound)
        r = ResidentFactory(compound=compound, household=household, name=f"居民{start + i}")
        n = next(_serials)
        r.set_national_id(make_id(n + 1, born=f"1980{1 + n // 28 % 12:02d}{1 + n % 28:02d}"))
        r.save()
        out.append(r)
    return out


def key() -> str:
    return uuid.uuid4().hex


def fill(tube, residents, by):
    return [
        services.sample_add(tube_id=tube.pk, resident_id=r.pk, key=key(), by=by) for r in residents
    ]


def sheet(tmp_path, rows, name="results.csv", header=("试管编码", "姓名", "检测结果")):
    path = tmp_path / name
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- rounds


def test_round_graph_walk(district_staff, secretary_a):
    assert list(rules.ROUND.moves()) == [(RoundStatus.OPEN, RoundStatus.CLOSED)]
    for current, target in rules.ROUND.refused():
        with pytest.raises(MoveRefused):
            rules.ROUND.check(current, target, by=district_staff)
    with pytest.raises(PermissionDenied):
        rules.ROUND.check(RoundStatus.OPEN, RoundStatus.CLOSED, by=secretary_a)
    assert list(rules.RETEST.moves()) == [
        (RetestStatus.PENDING, RetestStatus.SAMPLED),
        (RetestStatus.SAMPLED, RetestStatus.NEGATIVE),
        (RetestStatus.SAMPLED, RetestStatus.POSITIVE),
    ]
    for current, target in rules.RETEST.refused():
        with pytest.raises(MoveRefused):
            rules.RETEST.check(current, target)


def test_round_open_rules(district, district_staff, secretary_a, round6):
    again = services.round_open(
        district_id=district.pk,
        number=6,
        starts_on=round6.starts_on,
        ends_on=round6.ends_on,
        by=district_staff,
    )
    assert again == round6  # a double submit
    with pytest.raises(PermissionDenied):
        services.round_open(
            district_id=district.pk,
            number=7,
            starts_on=round6.starts_on,
            ends_on=round6.ends_on,
            by=secretary_a,
        )
    with pytest.raises(Refused, match="请先结束"):
        services.round_open(
            district_id=district.pk,
            number=7,
            starts_on=round6.starts_on,
            ends_on=round6.ends_on,
            by=district_staff,
        )
    with pytest.raises(Refused):
        services.round_open(
            district_id=district.pk,
            number=8,
            starts_on=round6.ends_on,
            ends_on=round6.starts_on,
            by=district_staff,
        )
    services.round_close(round_id=round6.pk, by=district_staff)
    with pytest.raises(MoveRefused):
        services.round_close(round_id=round6.pk, by=district_staff)


# ----------------------------------------------------------------------------- scans


def test_a_tube_fills_to_ten_and_closes_itself(compound_a, volunteer, round6):
    residents = people(compound_a, 11)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="gl0001", by=volunteer
    )
    assert tube.barcode == "GL0001"
    assert (
        services.tube_open(
            round_id=round6.pk, compound_id=compound_a.pk, barcode="GL0001", by=volunteer
        )
        == tube
    )
    fill(tube, residents[:10], volunteer)
    tube.refresh_from_db()
    assert (tube.size, tube.status) == (10, TubeStatus.CLOSED)
    # The 11th person is refused, nothing written.
    with pytest.raises(Refused):
        services.sample_add(tube_id=tube.pk, resident_id=residents[10].pk, key=key(), by=volunteer)
    assert Sample.objects.filter(tube=tube).count() == 10


def test_a_scan_sent_twice_is_written_once(compound_a, volunteer, round6):
    (r,) = people(compound_a, 1)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="GL0002", by=volunteer
    )
    k = key()
    code = rules.resident_code(r.pk)
    first = services.sample_add(tube_id=tube.pk, code=code, key=k, by=volunteer)
    second = services.sample_add(tube_id=tube.pk, code=code, key=k, by=volunteer)
    assert first == second
    tube.refresh_from_db()
    assert tube.size == 1


def test_a_person_in_two_tubes_of_one_round_is_refused(compound_a, volunteer, round6):
    (r,) = people(compound_a, 1)
    t1 = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="A0001", by=volunteer
    )
    t2 = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="A0002", by=volunteer
    )
    services.sample_add(tube_id=t1.pk, resident_id=r.pk, key=key(), by=volunteer)
    with pytest.raises(Refused, match="A0001"):
        services.sample_add(tube_id=t2.pk, resident_id=r.pk, key=key(), by=volunteer)
    t2.refresh_from_db()
    assert t2.size == 0


def test_a_code_from_another_compound_or_forged_is_refused(
    compound_a, compound_b, district_staff, round6
):
    (other,) = people(compound_b, 1)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="A0003", by=district_staff
    )
    with pytest.raises(Refused, match="其他小区"):
        services.sample_add(
            tube_id=tube.pk, code=rules.resident_code(other.pk), key=key(), by=district_staff
        )
    with pytest.raises(Refused):
        services.sample_add(tube_id=tube.pk, code="not-a-code", key=key(), by=district_staff)
    with pytest.raises(Refused):
        services.tube_open(
            round_id=round6.pk, compound_id=compound_a.pk, barcode="坏码", by=district_staff
        )
    assert not Sample.objects.exists()


def test_the_code_holds_no_id_number(compound_a):
    (r,) = people(compound_a, 1)
    code = rules.resident_code(r.pk)
    assert r.national_id not in code and r.id_last4 not in code
    assert rules.resident_from_code(code) == r.pk


def test_an_outsider_cannot_scan_into_a_tube(compound_a, secretary_b, volunteer, round6):
    (r,) = people(compound_a, 1)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="A0004", by=volunteer
    )
    with pytest.raises(Tube.DoesNotExist):
        services.sample_add(tube_id=tube.pk, resident_id=r.pk, key=key(), by=secretary_b)


# ----------------------------------------------------------------------------- results


@pytest.fixture
def pooled(compound_a, volunteer, round6):
    """Two pools of ten: P1 and P2."""
    residents = people(compound_a, 20)
    tubes = []
    for i, barcode in enumerate(("P0001", "P0002")):
        tube = services.tube_open(
            round_id=round6.pk, compound_id=compound_a.pk, barcode=barcode, by=volunteer
        )
        fill(tube, residents[10 * i : 10 * i + 10], volunteer)
        tubes.append(tube)
    return residents, tubes


@pytest.fixture
def case_template(db):
    SmsTemplate.objects.filter(name="新增阳性病例通知").update(code="SMS_C", approved=True)


def test_a_positive_pool_then_a_positive_single_tube(
    tmp_path,
    compound_a,
    volunteer,
    district_staff,
    secretary_a,
    round6,
    pooled,
    sms_outbox,
    case_template,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    residents, (p1, _p2) = pooled
    secretary_a.phone = "13800000001"
    secretary_a.save()
    plan = importing.read_results(
        sheet(tmp_path, [["P0001", "", "阳性"], ["P0002", "", "阴性"]]), round6
    )
    assert (plan.rows, plan.matched, plan.positive_pools, plan.errors) == (2, 2, 1, [])
    services.results_commit(round_id=round6.pk, plan=plan, file_name="r.csv", by=district_staff)
    # Temporary control of the pool's five households, a retest for each of its ten people.
    assert TemporaryControl.objects.filter(pool=p1, lifted_at=None).count() == 5
    assert Retest.objects.filter(pool=p1, status=RetestStatus.PENDING).count() == 10
    assert compound_a.__class__.objects.get(pk=compound_a.pk).status == ControlStatus.NORMAL
    # The door-to-door list and the volunteer's today list show the retests.
    assert len(selectors.door_list(testing_round=round6, compound=compound_a)) == 10
    from volunteers.registry import tasks_for

    retests = [t for t in tasks_for(volunteer, NOW.date()) if t.key.startswith("retest:")]
    assert len(retests) == 10
    # Two queries however many doors (the retests', the controls'): each row reads only the
    # columns it shows, and nothing it shows is loaded afterwards, row by row.
    from screening.plugins import today_tasks

    with django_assert_num_queries(2):
        again = today_tasks(volunteer, NOW.date())
    assert [t.title for t in again if t.key.startswith("retest:")] == [t.title for t in retests]
    controls = [t for t in again if t.key.startswith("control:")]
    assert len(controls) == 5 and all(p1.barcode in t.detail and t.title for t in controls)
    # Door by door, as the volunteer walks (building, unit, room).
    homes = [
        Retest.objects.select_related("household__building").get(pk=t.key.split(":")[1]).household
        for t in retests
    ]
    doors = [(int(h.building.number), h.unit, int(h.room)) for h in homes]
    assert doors == sorted(doors) and len(set(doors)) > 1

    # Single tubes for the retests, door to door; one person positive, the rest negative.
    singles = []
    for i, r in enumerate(residents[:10]):
        tube = services.tube_open(
            round_id=round6.pk,
            compound_id=compound_a.pk,
            barcode=f"S{i:04d}",
            kind="single",
            by=volunteer,
        )
        Tube.objects.filter(pk=tube.pk).update(retest=True)
        services.sample_add(tube_id=tube.pk, resident_id=r.pk, key=key(), by=volunteer)
        singles.append(tube)
    rows = [["", r.national_id, "阳性" if i == 0 else "阴性"] for i, r in enumerate(residents[:10])]
    path = sheet(tmp_path, rows, "retest.csv", header=("管码", "身份证号", "检测结果"))
    plan = importing.read_results(path, round6)
    assert (plan.matched, plan.positive_singles, plan.errors) == (10, 1, [])
    with django_capture_on_commit_callbacks(execute=True):
        record = services.results_commit(
            round_id=round6.pk, plan=plan, file_name="retest.csv", by=district_staff
        )
    assert record.cases == 1
    compound_a.refresh_from_db()
    assert compound_a.status == ControlStatus.SEALED
    assert compound_a.last_positive_on == NOW.date()
    assert compound_a.clock.days_without_case == 0
    assert PositiveCase.objects.filter(compound=compound_a, source="screening").count() == 1
    case = Quarantine.objects.get(kind=PersonKind.CASE)
    assert case.resident == residents[0]
    # The household of the negative ones: still under control (the case's house-mate is
    # negative but the case is not); the other four households are lifted.
    assert TemporaryControl.objects.filter(pool=p1, lifted_at=None).count() == 1
    # The secretary's SMS is in the outbox.
    assert Message.objects.filter(purpose="screening_case").exists()
    # A re-import changes nothing.
    plan = importing.read_results(path, round6)
    assert plan.changes == {} and plan.unchanged == 10
    services.results_commit(round_id=round6.pk, plan=plan, file_name="again.csv", by=district_staff)
    assert Quarantine.objects.filter(kind=PersonKind.CASE).count() == 1
    assert PositiveCase.objects.count() == 1


def test_retests_are_walked_door_by_door_building_92_before_910(
    compound_a, volunteer, round6, pooled
):
    from compounds.models import address_label
    from screening.plugins import today_tasks

    residents, (p1, _p2) = pooled
    # As text 910 sorts before 92; a volunteer walks building 92 first.
    ten, two = (BuildingFactory(compound=compound_a, number=n) for n in ("910", "92"))
    for building, room, resident in ((ten, "101", 0), (two, "1201", 2), (two, "301", 4)):
        home = HouseholdFactory(compound=compound_a, building=building, unit="1", room=room)
        Retest.objects.create(
            round=round6,
            compound=compound_a,
            resident=residents[resident],
            household=home,
            pool=p1,
        )
    rows = [t for t in today_tasks(volunteer, NOW.date()) if t.key.startswith("retest:")]
    assert [t.title for t in rows] == [
        address_label("92", "1", "301"),
        address_label("92", "1", "1201"),
        address_label("910", "1", "101"),
    ]
    assert all(t.url == reverse("screening:sample", args=[round6.pk, compound_a.pk]) for t in rows)


def test_unknown_words_and_unmatched_tubes_are_named(tmp_path, round6, pooled):
    path = sheet(
        tmp_path,
        [
            ["P0001", "", "阴性"],
            ["P0002", "", "弱阳"],
            ["X9999", "", "阴性"],
            ["P0001", "", "阳性"],
        ],
    )
    plan = importing.read_results(path, round6)
    rows = {e.row for e in plan.errors}
    assert rows == {3, 4, 5}
    assert plan.unknown_words == {"弱阳": [3]}
    assert any("X9999" in e.message for e in plan.errors)
    assert any("两个不同的结果" in e.message for e in plan.errors)


def test_a_refused_sheet_writes_nothing(tmp_path, round6, pooled, district_staff):
    path = sheet(tmp_path, [["P0001", "", "阳性"], ["X9999", "", "阴性"]])
    plan = importing.read_results(path, round6)
    with pytest.raises(Refused):
        services.results_commit(round_id=round6.pk, plan=plan, file_name="x", by=district_staff)
    assert not Tube.objects.exclude(result="").exists()
    assert not ResultImport.objects.exists()


def test_a_tube_of_another_district_is_unmatched(tmp_path, round6, pooled, compound_a):
    from tests.factories import CompoundFactory, TubeFactory

    elsewhere = CompoundFactory()
    assert elsewhere.district_id != compound_a.district_id
    TubeFactory(compound=elsewhere, barcode="Z0001")
    plan = importing.read_results(sheet(tmp_path, [["Z0001", "", "阳性"]]), round6)
    assert plan.matched == 0 and plan.errors


def test_headers_in_any_order_other_columns_named(tmp_path, round6, pooled):
    path = sheet(
        tmp_path,
        [["阴性", "x", "P0001"]],
        header=("检测结果", "送检单位", "条码"),
    )
    plan = importing.read_results(path, round6)
    assert plan.matched == 1 and plan.ignored_columns == ["送检单位"]


def test_a_formula_row_is_refused(tmp_path, round6, pooled):
    plan = importing.read_results(sheet(tmp_path, [["P0001", "=1+1", "阴性"]]), round6)
    assert plan.errors and plan.errors[0].row == 2


def test_a_result_never_flips_silently(tmp_path, round6, pooled, district_staff):
    plan = importing.read_results(sheet(tmp_path, [["P0001", "", "阴性"]]), round6)
    services.results_commit(round_id=round6.pk, plan=plan, file_name="a", by=district_staff)
    plan = importing.read_results(sheet(tmp_path, [["P0001", "", "阳性"]]), round6)
    assert plan.errors and "已有结果" in plan.errors[0].message


@pytest.mark.parametrize("build", [entity_expansion])
def test_hostile_files_are_refused(tmp_path, round6, build):
    with pytest.raises(Refused):
        importing.read_results(build(tmp_path), round6)


def test_a_million_empty_styled_rows_are_refused(tmp_path, round6):
    path = xlsx(
        tmp_path / "styled.xlsx",
        (
            "".join(f'<row r="{n}"><c r="A{n}" s="1"/></row>' for n in range(k, k + 50_000))
            for k in range(1, 1_000_001, 50_000)
        ),
    )
    with pytest.raises(Refused):
        importing.read_results(path, round6)


def test_only_staff_import(round6, pooled, secretary_a, tmp_path):
    plan = importing.read_results(sheet(tmp_path, [["P0001", "", "阴性"]]), round6)
    with pytest.raises(PermissionDenied):
        services.results_commit(round_id=round6.pk, plan=plan, file_name="a", by=secretary_a)


def test_import_results_command(tmp_path, round6, pooled, district_staff, capsys):
    district_staff.is_superuser = True
    district_staff.save()
    path = sheet(tmp_path, [["P0001", "", "阴性"], ["P0002", "", "阳性"]])
    call_command("import_results", str(path), "--round", "6", "--dry-run")
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "matched 2 of 2 rows: 1 positive pools, 0 cases, 0 unmatched"
    )
    assert not Tube.objects.exclude(result="").exists()
    call_command("import_results", str(path), "--round", "6")
    assert Tube.objects.get(barcode="P0002").result == Result.POSITIVE
    bad = sheet(tmp_path, [["X0001", "", "阴性"]], "bad.csv")
    with pytest.raises(SystemExit) as exit_:
        call_command("import_results", str(bad), "--round", "6")
    assert exit_.value.code == 1
    assert "row 2" in capsys.readouterr().err


# ----------------------------------------------------------------------------- cases


@pytest.fixture
def case(compound_a, district_staff):
    (r,) = people(compound_a, 1)
    return services.case_record(resident_id=r.pk, found_on=NOW.date(), by=district_staff)


def test_contacts_reports_overdue_and_release(compound_a, case, secretary_a, volunteer):
    a, b = people(compound_a, 2, start=50)
    c1 = services.contact_add(
        source_id=case.pk,
        resident_id=a.pk,
        kind=PersonKind.CLOSE,
        place="home",
        starts_on=NOW.date(),
        by=secretary_a,
    )
    c2 = services.contact_add(
        source_id=case.pk,
        resident_id=b.pk,
        kind=PersonKind.CLOSE,
        place="home",
        starts_on=NOW.date(),
        by=secretary_a,
    )
    assert c1.test_days()[0] == NOW.date() + datetime.timedelta(days=1)
    assert selectors.overdue(secretary_a, day=NOW.date()) == []
    tomorrow = NOW.date() + datetime.timedelta(days=1)
    assert {q.pk for q in selectors.overdue(secretary_a, day=tomorrow)} >= {c1.pk, c2.pk}
    services.health_report_add(quarantine_id=c1.pk, temperature="36.6", by=volunteer)
    assert c1.pk not in {q.pk for q in selectors.overdue(secretary_a, day=tomorrow)}
    services.quarantine_release(quarantine_id=c2.pk, by=secretary_a)
    assert c2.pk not in {q.pk for q in selectors.overdue(secretary_a, day=tomorrow)}
    with pytest.raises(Refused):
        services.health_report_add(quarantine_id=c2.pk, temperature="36.6", by=volunteer)
    assert HealthReport.objects.filter(quarantine=c2).count() == 0


def test_bad_contacts_and_reports(
    compound_a, compound_b, case, secretary_a, secretary_b, volunteer
):
    (a,) = people(compound_a, 1, start=70)
    with pytest.raises(Refused):  # a secondary contact straight from a case
        services.contact_add(
            source_id=case.pk,
            resident_id=a.pk,
            kind=PersonKind.SECONDARY,
            place="home",
            starts_on=NOW.date(),
            by=secretary_a,
        )
    with pytest.raises(Refused):
        services.contact_add(
            source_id=case.pk,
            resident_id=case.resident_id,
            kind=PersonKind.CLOSE,
            place="home",
            starts_on=NOW.date(),
            by=secretary_a,
        )
    with pytest.raises(Quarantine.DoesNotExist):
        services.contact_add(
            source_id=case.pk,
            resident_id=a.pk,
            kind=PersonKind.CLOSE,
            place="home",
            starts_on=NOW.date(),
            by=secretary_b,
        )
    with pytest.raises(PermissionDenied):
        services.contact_add(
            source_id=case.pk,
            resident_id=a.pk,
            kind=PersonKind.CLOSE,
            place="home",
            starts_on=NOW.date(),
            by=volunteer,
        )
    for bad in ("hot", "50", "20"):
        with pytest.raises(Refused):
            services.health_report_add(quarantine_id=case.pk, temperature=bad, by=volunteer)
    assert Quarantine.objects.count() == 1 and not HealthReport.objects.exists()


def test_a_case_raises_only_upwards(compound_a, district_staff):
    from compounds.services import compound_change_status

    compound_change_status(
        compound_id=compound_a.pk, to_status=ControlStatus.SEALED, reason="x", by=district_staff
    )
    (r,) = people(compound_a, 1)
    services.case_record(resident_id=r.pk, found_on=NOW.date(), by=district_staff)
    compound_a.refresh_from_db()
    assert compound_a.status == ControlStatus.SEALED
    assert compound_a.status_changes.count() == 1


# ----------------------------------------------------------------------------- coverage


def test_coverage_per_compound_and_door(compound_a, volunteer, secretary_a, district_staff, round6):
    residents = people(compound_a, 6)
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="C0001", by=volunteer
    )
    fill(tube, residents[:3], volunteer)
    services.exemption_set(
        round_id=round6.pk, resident_id=residents[3].pk, reason="infant", by=secretary_a
    )
    Resident.objects.filter(pk=residents[5].pk).update(left_on=NOW.date())
    total, rows = selectors.round_coverage(user=secretary_a, testing_round=round6)
    row = next(r for r in rows if r.pk == compound_a.pk)
    assert (row.expected, row.sampled, row.exempt, row.missing) == (5, 3, 1, 1)
    total, _units, doors = selectors.compound_coverage(testing_round=round6, compound=compound_a)
    assert total.missing == 1
    assert [p["state"] for d in doors for p in d.people].count("missing") == 1
    with pytest.raises(Refused):
        services.exemption_set(
            round_id=round6.pk, resident_id=residents[4].pk, reason="bored", by=secretary_a
        )
    with pytest.raises(PermissionDenied):
        services.exemption_set(
            round_id=round6.pk, resident_id=residents[4].pk, reason="away", by=volunteer
        )


def test_coverage_query_count_is_constant(
    compound_a, secretary_a, district_staff, round6, django_assert_max_num_queries
):
    from tests.factories import CompoundFactory

    people(compound_a, 2)
    with django_assert_max_num_queries(8):
        selectors.round_coverage(user=district_staff, testing_round=round6)
    for _ in range(5):
        c = CompoundFactory(community=compound_a.community)
        people(c, 2)
    with django_assert_max_num_queries(8):
        selectors.round_coverage(user=district_staff, testing_round=round6)


# ----------------------------------------------------------------------------- pages


def test_pages_for_the_sampler(client, login, compound_a, volunteer, round6):
    (r,) = people(compound_a, 1)
    login(volunteer)
    page = client.get(reverse("screening:sample", args=[round6.pk, compound_a.pk]))
    assert page.status_code == 200
    answer = client.post(
        reverse("screening:sample", args=[round6.pk, compound_a.pk]),
        {"barcode": "W0001", "kind": "pool10"},
    )
    tube = Tube.objects.get(barcode="W0001")
    assert answer.url == reverse("screening:tube", args=[tube.pk])
    k = key()
    for _ in range(2):  # a double submit
        client.post(
            reverse("screening:tube", args=[tube.pk]), {"key": k, "code": rules.resident_code(r.pk)}
        )
    assert Sample.objects.filter(tube=tube).count() == 1
    # A volunteer neither imports nor sees coverage per door.
    assert client.get(reverse("screening:import", args=[round6.pk])).status_code == 403
    assert (
        client.get(reverse("screening:compound", args=[round6.pk, compound_a.pk])).status_code
        == 403
    )


def test_pages_hide_other_compounds(client, login, compound_a, secretary_b, volunteer, round6):
    tube = services.tube_open(
        round_id=round6.pk, compound_id=compound_a.pk, barcode="W0002", by=volunteer
    )
    login(secretary_b)
    assert client.get(reverse("screening:tube", args=[tube.pk])).status_code == 404
    assert (
        client.get(reverse("screening:compound", args=[round6.pk, compound_a.pk])).status_code
        == 404
    )


def test_the_import_page_previews_then_commits(
    client, login, district_staff, round6, pooled, tmp_path
):
    login(district_staff)
    path = sheet(tmp_path, [["P0001", "", "阴性"], ["P0002", "", "阴性"]])
    with path.open("rb") as fh:
        page = client.post(reverse("screening:import", args=[round6.pk]), {"file": fh})
    assert page.status_code == 200
    assert not Tube.objects.exclude(result="").exists()
    token = page.context["token"]
    assert token
    client.post(reverse("screening:import", args=[round6.pk]), {"token": token})
    assert Tube.objects.filter(result=Result.NEGATIVE).count() == 2
    # A refused sheet shows its rows and writes nothing.
    bad = sheet(tmp_path, [["X0001", "", "阴性"]], "bad.csv")
    with bad.open("rb") as fh:
        page = client.post(reverse("screening:import", args=[round6.pk]), {"file": fh})
    assert page.context["plan"].errors and not page.context["token"]


def test_the_open_a_round_form_offers_the_next_number(login, district, district_staff, round6):
    page = login(district_staff).get("/screening/")
    assert page.status_code == 200
    assert 'name="number" value="7"' in page.text
    assert selectors.next_round_number(DistrictFactory(code="620103", name="七里河区")) == 1
