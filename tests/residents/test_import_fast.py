"""The resident import's bulk writes: COPY on PostgreSQL (wuyi/lib/pgcopy.py), bulk_create
elsewhere, the same rows either way.

These run on whatever DATABASE_URL says: SQLite by default, PostgreSQL in CI, where the COPY
path is the one under test. The tests marked `postgresql_only` compare the two paths on
PostgreSQL and check pgcopy's csv encoding directly.
"""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext

from residents import services
from residents.importing import write
from residents.models import Household, Resident, VulnerableTag
from residents.services import ImportRefused, resident_import
from tests.factories import UserFactory
from tests.residents.helpers import make_id, write_xlsx
from wuyi.lib import cn, pgcopy, pii

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path exists on PostgreSQL only"
)

ID1 = make_id(31, "19450101", female=True)
ID2 = make_id(32, "19700202")
ID3 = make_id(33, "20190303", female=True)
ID4 = make_id(34, "19880404")
ID5 = make_id(35, "19990505", female=True)

# (name, ID, phone, building, unit, room, relation, categories, notes as written, notes stored)
ROWS = [
    ("张桂兰", ID1, "13893112345", "1", "2", "501", "户主", "独居老人", 'a,b,"c"', 'a,b,"c"'),
    (
        "李建国",
        ID2,
        "0931-8123456",
        "1",
        "2",
        "502",
        "户主",
        "透析",
        "周一三五透析",
        "周一三五透析",
    ),
    ("李小宝", ID3, "", "1", "2", "502", "子女", "婴幼儿、残疾人", "\\N", "\\N"),
    ("王芳", "", "", "2", "1", "101", "户主", "", "", ""),
    (
        "赵六",
        "",
        "13912345678",
        "2",
        "1",
        "101",
        "",
        "",
        "第一行\n第二行\t制表",
        "第一行 第二行 制表",
    ),
    ("钱七", ID4, "", "2", "", "102", "户主", "慢性病", "\\.", "\\."),
    ("孙八", ID5, "", "2", "", "102", "配偶", "", "NULL", "NULL"),
    ("周九", "", "", "1", "1", "101", "户主", "卧床", "'单', \"双\"，全角", "'单', \"双\"，全角"),
]
EXPECTED_TAGS = {
    ("张桂兰", "elderly_alone", ""),
    ("李建国", "chronic", "透析"),
    ("李小宝", "infant", ""),
    ("李小宝", "disabled", ""),
    ("钱七", "chronic", ""),
    ("周九", "bedridden", ""),
}


def sheet_rows():
    return [
        [n, name, "", nid, phone, building, unit, room, relation, categories, notes]
        for n, (name, nid, phone, building, unit, room, relation, categories, notes, _s) in (
            enumerate(ROWS, start=1)
        )
    ]


@pytest.fixture
def list_file(tmp_path):
    return write_xlsx(tmp_path / "居民.xlsx", sheet_rows())


@pytest.fixture
def user(community_a):
    return UserFactory(username="importer", posted_to=community_a)


def run(path, community, compound, user, **kwargs):
    return resident_import(
        path=path,
        community_id=community.pk,
        compound_id=compound.pk if compound else None,
        by=user,
        dry_run=False,
        **kwargs,
    )


def copy_rows(writer, rows) -> None:
    """COPY rows on the current thread (the Pipeline does it on its worker)."""
    with connection.cursor() as cursor, connection.wrap_database_errors:
        writer.send(cursor.cursor, writer.csv(rows))


HISTORIES = [
    (Household, Household.history.model),
    (Resident, Resident.history.model),
    (VulnerableTag, VulnerableTag.history.model),
]


def assert_nothing_written():
    for model, history in HISTORIES:
        assert not model.objects.exists(), model.__name__
        assert not history.objects.exists(), history.__name__


def assert_history_matches(user):
    """One '+' history row per new row, by `user`, with the import's reason and time, holding
    the row's values."""
    reason = gettext("Imported from a resident list")
    dates = set()
    for model, history in HISTORIES:
        rows = {row["id"]: row for row in model.objects.values()}
        records = list(history.objects.values())
        assert sorted(r["id"] for r in records) == sorted(rows), model.__name__
        tracked = [f.attname for f in history.tracked_fields]
        for record in records:
            assert record["history_type"] == "+"
            assert record["history_user_id"] == (user.pk if user else None)
            assert record["history_change_reason"] == reason
            row = rows[record["id"]]
            assert {k: record[k] for k in tracked} == {k: row[k] for k in tracked}
            dates.add(record["history_date"])
            if "created_at" in row:
                dates.add(row["created_at"])
    assert len(dates) == 1  # one import, one time: history_date is the rows' created_at


def test_import_writes_exactly_the_expected_rows(list_file, community_a, compound_a, user):
    before = timezone.now()
    report = run(list_file, community_a, compound_a, user)
    assert report["committed"] and report["errors"] == []
    assert (report["new"], report["updated"], report["unchanged"]) == (len(ROWS), 0, 0)
    assert report["new_households"] == 5

    households = {
        (h.building.number, h.unit, h.room): h for h in Household.objects.select_related("building")
    }
    assert set(households) == {
        ("1", "2", "501"),
        ("1", "2", "502"),
        ("2", "1", "101"),
        ("2", "", "102"),
        ("1", "1", "101"),
    }
    for household in households.values():
        assert household.compound_id == compound_a.pk and household.notes == ""

    residents = {r.name: r for r in Resident.objects.all()}
    assert set(residents) == {row[0] for row in ROWS}
    for name, nid, phone, building, unit, room, relation, _cats, _written, stored in ROWS:
        resident = residents[name]
        household = households[(building, unit, room)]
        assert resident.household_id == household.pk, name
        assert resident.compound_id == compound_a.pk and resident.community_id == community_a.pk
        assert resident.phone == phone and resident.relation == relation
        assert resident.notes == stored, name
        assert resident.created_at == resident.updated_at >= before
        if nid:
            assert resident.id_hash == pii.keyed_hash(nid)
            assert resident.id_last4 == nid[-4:]
            assert resident.national_id == nid and nid not in resident.id_cipher
            assert resident.birth_date == datetime.date(
                int(nid[6:10]), int(nid[10:12]), int(nid[12:14])
            )
            assert resident.gender == ("M" if int(nid[16]) % 2 else "F")
        else:
            # No ID number: NULL hash (unique allows many), empty strings elsewhere.
            assert resident.id_hash is None
            assert (resident.id_cipher, resident.id_last4) == ("", "")
            assert resident.birth_date is None and resident.gender == ""

    tags = {
        (t.resident.name, t.category, t.treatment)
        for t in VulnerableTag.objects.select_related("resident")
    }
    assert tags == EXPECTED_TAGS
    assert VulnerableTag.objects.count() == len(EXPECTED_TAGS)
    for tag in VulnerableTag.objects.all():
        assert (tag.details, tag.schedule, tag.due_date) == ("", "", None)

    assert Resident.history.count() == len(ROWS)
    assert Household.history.count() == 5
    assert VulnerableTag.history.count() == len(EXPECTED_TAGS)
    assert_history_matches(user)


def test_history_user_is_empty_without_a_user(list_file, community_a, compound_a):
    run(list_file, community_a, compound_a, None)
    assert_history_matches(None)


def test_notes_round_trip_exactly(tmp_path, community_a, compound_a, user):
    """Text that csv, COPY's text format or SQL treat specially arrives as the parser left it
    (runs of white space become one space, nothing else changes); '' stays '', not NULL."""
    notes = [
        'a,b,"c"',
        '"',
        '""',
        "'",
        "\\",
        "\\N",
        "\\.",
        "NULL",
        "null",
        " ",  # trimmed to ""
        "逗号，分号；冒号：",
        "emoji 😷 口罩",
        "tab\there",
        "cr\rlf\r\n",
        "x" * 500,  # the longest notes a resident may have
    ]
    rows = [
        [n, f"居民{n}", "", "", "", "1", "1", str(100 + n), "", "", note]
        for n, note in enumerate(notes, start=1)
    ]
    run(write_xlsx(tmp_path / "notes.xlsx", rows), community_a, compound_a, user)
    stored = dict(Resident.objects.values_list("name", "notes"))
    for n, note in enumerate(notes, start=1):
        assert stored[f"居民{n}"] == cn.free_text(note), repr(note)
    assert stored["居民10"] == ""
    assert stored["居民13"] == "tab here"
    assert len(stored["居民15"]) == 500
    assert Resident.objects.filter(notes="").count() == 1  # empty string, not NULL
    assert_history_matches(user)


def snapshot() -> dict:
    """Every row the import writes, ids replaced by what they point at."""
    address = {
        h.pk: (h.building.number, h.unit, h.room)
        for h in Household.objects.select_related("building")
    }
    names = dict(Resident.objects.values_list("id", "name"))
    result = {}
    for model, history in HISTORIES:
        for kind, rows in ((model, model.objects.values()), (history, history.objects.values())):
            normalised = []
            for row in rows:
                row = dict(row)
                row.pop("history_id", None)
                row.pop("id")
                if "household_id" in row:
                    row["household_id"] = address[row["household_id"]]
                if "resident_id" in row:
                    row["resident_id"] = names[row["resident_id"]]
                normalised.append(tuple(sorted(row.items())))
            result[kind.__name__] = sorted(normalised, key=repr)
    return result


def test_second_import_changes_nothing(list_file, community_a, compound_a, user):
    run(list_file, community_a, compound_a, user)
    before = snapshot()
    ids = sorted(Resident.objects.values_list("id", flat=True))
    again = run(list_file, community_a, compound_a, user)
    assert (again["new"], again["updated"], again["unchanged"]) == (0, 0, len(ROWS))
    assert again["new_households"] == 0
    assert snapshot() == before
    assert sorted(Resident.objects.values_list("id", flat=True)) == ids


def changed_rows():
    """The list again, a week later."""
    rows = sheet_rows()
    rows[0][4] = "13800000000"  # 张桂兰: a new phone
    rows[0][8] = ""  # ... and an empty relation, which must not erase 户主
    rows[1][7] = "503"  # 李建国 moves to a new household
    rows[3][10] = "已核实"  # 王芳 (no ID number): new notes
    rows[5][10] = ""  # 钱七: empty notes keep "\\."
    return rows


def test_reimport_updates_and_records_history(tmp_path, list_file, community_a, compound_a, user):
    run(list_file, community_a, compound_a, user)
    first = {r.name: r for r in Resident.objects.all()}
    report = run(write_xlsx(tmp_path / "v2.xlsx", changed_rows()), community_a, compound_a, user)
    assert (report["new"], report["updated"], report["unchanged"]) == (0, 3, len(ROWS) - 3)
    assert report["new_households"] == 1
    now = {r.name: r for r in Resident.objects.all()}
    assert (now["张桂兰"].phone, now["张桂兰"].relation) == ("13800000000", "户主")
    assert now["李建国"].household.address == "1号楼2单元503"
    assert now["李建国"].compound_id == compound_a.pk
    assert now["王芳"].notes == "已核实"
    assert now["钱七"].notes == "\\."  # an empty cell does not erase
    for name in ("张桂兰", "李建国", "王芳"):
        assert now[name].updated_at > first[name].updated_at
        assert now[name].created_at == first[name].created_at
    for name in set(now) - {"张桂兰", "李建国", "王芳"}:
        assert now[name].updated_at == first[name].updated_at

    changes = list(Resident.history.filter(history_type="~").values())
    assert sorted(c["name"] for c in changes) == ["张桂兰", "李建国", "王芳"]
    tracked = [f.attname for f in Resident.history.model.tracked_fields]
    reason = gettext("Imported from a resident list")
    for change in changes:
        current = Resident.objects.filter(pk=change["id"]).values(*tracked).get()
        assert {k: change[k] for k in tracked} == current
        assert change["history_user_id"] == user.pk
        assert change["history_change_reason"] == reason
        assert change["history_date"] == current["updated_at"]
    assert Resident.history.filter(history_type="+").count() == len(ROWS)


def test_failure_after_households_leaves_nothing(
    list_file, community_a, compound_a, user, monkeypatch
):
    """The residents' insert fails once the households and their history are in: nothing is
    left. (On PostgreSQL the failure happens on the pipeline's worker thread.)"""
    seen = {}

    def count(cursor) -> None:
        for model in (Household, Household.history.model):
            cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608
            seen[model.__name__] = cursor.fetchone()[0]

    if pgcopy.available():
        real_send = pgcopy.CopyWriter.send

        def send(self, cursor, data):
            if self.model is Resident:
                count(cursor)
                raise RuntimeError("the disk is full")
            return real_send(self, cursor, data)

        monkeypatch.setattr(pgcopy.CopyWriter, "send", send)
    else:
        real_insert = write.OrmSink.insert

        def insert(self, model, *args, **kwargs):
            if model is Resident:
                with connection.cursor() as cursor:
                    count(cursor)
                raise RuntimeError("the disk is full")
            return real_insert(self, model, *args, **kwargs)

        monkeypatch.setattr(write.OrmSink, "insert", insert)
    with pytest.raises(RuntimeError, match="disk is full"):
        run(list_file, community_a, compound_a, user)
    assert seen == {"Household": 5, "HistoricalHousehold": 5}
    assert_nothing_written()


def test_failure_while_a_chunk_is_in_flight_leaves_nothing(
    list_file, community_a, compound_a, user, monkeypatch
):
    """The import fails on the calling thread (here: encrypting the second ID number) while
    the households may still be being written: nothing is left."""
    calls = []
    real_encrypt = pii.encrypt

    def encrypt_then_fail(value):
        calls.append(value)
        if len(calls) > 1:
            raise RuntimeError("no key")
        return real_encrypt(value)

    monkeypatch.setattr(pii, "encrypt", encrypt_then_fail)
    with pytest.raises(RuntimeError, match="no key"):
        run(list_file, community_a, compound_a, user)
    assert_nothing_written()


def test_constraint_failure_while_writing_leaves_nothing(
    list_file, community_a, compound_a, user, monkeypatch
):
    """Someone registers one of the ID numbers between the plan and the write: the insert
    fails on the unique hash, the import is refused and nothing (not even that) is left."""
    real_plan = services.plan_import

    def plan_then_race(**kwargs):
        plan = real_plan(**kwargs)
        item = plan.creates[-1][0] if plan.creates[-1][0].national_id else plan.creates[0][0]
        household = Household.objects.create(
            compound=compound_a, building=compound_a.buildings.first(), unit="9", room="999"
        )
        rival = Resident(household=household, name="抢注")
        rival.set_national_id(item.national_id)
        rival.save()
        return plan

    monkeypatch.setattr(services, "plan_import", plan_then_race)
    with pytest.raises(ImportRefused):
        run(list_file, community_a, compound_a, user)
    assert_nothing_written()


def test_skip_bad_rows_writes_only_the_good_ones(tmp_path, community_a, compound_a, user):
    rows = sheet_rows()
    rows[1][4] = "1389311234"  # a bad phone on 李建国's row
    report = run(
        write_xlsx(tmp_path / "s.xlsx", rows), community_a, compound_a, user, skip_bad_rows=True
    )
    assert report["new"] == len(ROWS) - 1 and report["bad_rows"] == 1
    assert not Resident.objects.filter(name="李建国").exists()
    assert ("李建国", "chronic", "透析") not in {
        (t.resident.name, t.category, t.treatment) for t in VulnerableTag.objects.all()
    }
    assert_history_matches(user)


def test_new_tag_on_a_registered_resident(tmp_path, list_file, community_a, compound_a, user):
    run(list_file, community_a, compound_a, user)
    rows = sheet_rows()
    rows[6][9] = "孕产妇"  # 孙八 is now on the ledger too
    report = run(write_xlsx(tmp_path / "v2.xlsx", rows), community_a, compound_a, user)
    assert report["new"] == 0
    assert VulnerableTag.objects.filter(resident__name="孙八", category="pregnant").exists()
    assert VulnerableTag.objects.count() == len(EXPECTED_TAGS) + 1
    assert VulnerableTag.history.filter(history_type="+").count() == len(EXPECTED_TAGS) + 1


# --- PostgreSQL: COPY against bulk_create, and the csv encoding --------------------------------


@postgresql_only
def test_copy_and_bulk_create_write_the_same_rows(
    tmp_path, list_file, community_a, compound_a, user, monkeypatch
):
    """An import and a re-import with changes, once through COPY and UPDATE ... FROM VALUES,
    once through bulk_create and bulk_update: the same rows and history rows."""
    second_file = write_xlsx(tmp_path / "v2.xlsx", changed_rows())
    snapshots = []
    for fast in (True, False):
        monkeypatch.setattr(pgcopy, "available", lambda using="default", fast=fast: fast)
        with transaction.atomic():
            run(list_file, community_a, compound_a, user)
            assert_history_matches(user)
            run(second_file, community_a, compound_a, user)
            snap = snapshot()
            # The imports' times differ between the two runs; within one there are two.
            times = {v for rows in snap.values() for row in rows for _k, v in row if _is_time(v)}
            assert len(times) == 2
            first, second = sorted(times)
            # Sorted again once the times are named: the repr of a datetime does not sort as
            # the time does (second 9 after second 10), so the order could differ per run.
            snapshots.append(
                {
                    kind: sorted(
                        (tuple((k, _when(v, first, second)) for k, v in row) for row in rows),
                        key=repr,
                    )
                    for kind, rows in snap.items()
                }
            )
            transaction.set_rollback(True)
    copied, created = snapshots
    for kind in copied:
        # id_cipher is random (Fernet): compare what it decrypts to.
        assert _decrypted(copied[kind]) == _decrypted(created[kind]), kind


def _when(value, first, second):
    return {first: "first import", second: "second import"}.get(value, value)


def _is_time(value) -> bool:
    return isinstance(value, datetime.datetime)


def _decrypted(rows):
    return [
        tuple((k, pii.decrypt(v) if k == "id_cipher" and v else v) for k, v in row) for row in rows
    ]


@postgresql_only
def test_import_analyzes_parent_tables_the_planner_thinks_empty(
    list_file, community_a, compound_a, user
):
    """The foreign keys are checked at COMMIT with plans made from the parent tables'
    statistics. With 0 rows recorded (rows deleted, then ANALYZE) the planner may check each
    new row with a whole-index scan, so the import analyzes those tables first, and every other
    table it filled (the ledger, the history); not when the statistics already count at least
    the rows written."""
    filled = [
        f"residents_{name}"
        for name in (
            "household",
            "historicalhousehold",
            "resident",
            "historicalresident",
            "vulnerabletag",
            "historicalvulnerabletag",
        )
    ]
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {', '.join(filled)}")
    with CaptureQueriesContext(connection) as queries:
        run(list_file, community_a, compound_a, user)
    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analyzed == [f'ANALYZE "{table}"' for table in filled]
    assert pgcopy.analyze_if_stale({Household: 5, Resident: len(ROWS)}) == []


@postgresql_only
def test_copy_writes_csv_specials_exactly(compound_a):
    """Straight through pgcopy: newlines, tabs, quotes, backslashes and COPY's own markers
    arrive as written; None is NULL and '' stays ''."""
    building = compound_a.buildings.first()
    notes = [
        "",
        'a,"b"',
        "line\nbreak",
        "tab\tstop",
        "cr\r\nlf",
        "\\.",
        "x\n\\.\ny",
        "\\N",
        "NULL",
        ",",
        '"',
        " padded ",
    ]
    writer = pgcopy.CopyWriter(Household, ("id", "compound_id", "building_id", "room", "notes"))
    ids = pgcopy.reserve_ids(Household, len(notes))
    copy_rows(
        writer,
        (
            (hid, compound_a.pk, building.pk, f"R{n}", note)
            for n, (hid, note) in enumerate(zip(ids, notes, strict=True))
        ),
    )
    stored = dict(Household.objects.filter(pk__in=ids).values_list("room", "notes"))
    assert stored == {f"R{n}": note for n, note in enumerate(notes)}
    assert Household.objects.get(room="R0").unit == ""  # not given: the field's default

    household = Household.objects.get(room="R1")
    fields = ("id", "household_id", "compound_id", "community_id", "name", "id_hash")
    rid = pgcopy.reserve_ids(Resident, 2)
    copy_rows(
        pgcopy.CopyWriter(Resident, fields),
        [
            (rid[0], household.pk, compound_a.pk, compound_a.community_id, "无号", None),
            (rid[1], household.pk, compound_a.pk, compound_a.community_id, "空号", ""),
        ],
    )
    assert dict(Resident.objects.filter(pk__in=rid).values_list("name", "id_hash")) == {
        "无号": None,
        "空号": "",
    }
    resident = Resident.objects.get(pk=rid[0])
    assert (resident.notes, resident.phone) == ("", "")


@postgresql_only
@pytest.mark.parametrize("gap", [False, True], ids=["id-range", "id-list"])
def test_history_statement_matches_bulk_history_create(compound_a, user, gap):
    building = compound_a.buildings.first()
    now = timezone.now()
    households = [
        Household(compound=compound_a, building=building, room=str(n), notes=f"n{n}")
        for n in range(4)
    ]
    Household.objects.bulk_create(households)
    if gap:
        del households[2]
    ids = [h.pk for h in households]
    statement, _params = pgcopy.history_statement(
        Household, ids, user=user, reason="导入", date=now
    )
    assert ("ANY" in str(statement)) == gap
    pgcopy.write_history(Household, ids, user=user, reason="导入", date=now)
    copied = list(Household.history.order_by("history_id").values())
    Household.history.all().delete()
    Household.history.bulk_history_create(
        households, default_user=user, default_change_reason="导入", default_date=now
    )
    created = list(Household.history.order_by("history_id").values())
    for row in copied + created:
        row.pop("history_id")
    assert len(copied) == len(households)
    assert copied == created


@postgresql_only
def test_pipeline_reraises_database_errors(compound_a, user):
    building = compound_a.buildings.first()
    writer = pgcopy.CopyWriter(Household, ("id", "compound_id", "building_id", "unit", "room"))
    ids = pgcopy.reserve_ids(Household, 2)
    rows = [(hid, compound_a.pk, building.pk, "1", "101") for hid in ids]  # the same address
    pipeline = pgcopy.Pipeline(user=user, reason="r", date=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic(), pipeline as pipe:
        pipe.insert(writer, ids, rows)
    assert not Household.objects.exists() and not Household.history.exists()


def test_copy_writer_refuses_unknown_fields():
    with pytest.raises(ValueError, match="no concrete field"):
        pgcopy.CopyWriter(Household, ("id", "colour"))
    with pytest.raises(ValueError, match="both"):
        pgcopy.CopyWriter(Household, ("id", "room"), constants={"room": "1"})


def test_available_follows_the_database():
    assert pgcopy.available() == (connection.vendor == "postgresql")
