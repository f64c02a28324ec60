"""Hostile uploads: files built here that once brought a process down or asked for gigabytes.

Each is read by wuyi.lib.spreadsheets in a subprocess with a memory limit (a reader that tries
to allocate the sheet dies there, not in the test run) and must end with a clear message and
a bounded peak. The same files go through the import job: it ends failed with that message,
nothing is written, the uploaded file is deleted.
"""

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from residents import services
from residents.models import Household, ImportJob, Resident
from tests.residents.helpers import HEADER, write_csv, write_xlsx

MEMORY_LIMIT_MB = 1500  # address space of the reading subprocess
PEAK_LIMIT_MB = 600  # what a refused file may cost, at most

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "{dimension}<sheetData>"
)
SHEET_TAIL = "</sheetData></worksheet>"


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    letters = "ABCDEFGHIJKLMNOP"
    return (
        '<row r="1">' + "".join(cell(f"{letters[i]}1", h) for i, h in enumerate(HEADER)) + "</row>"
    )


def xlsx(path: Path, body, *, doctype: str = "", dimension: str = "", extra=None) -> Path:
    """An xlsx whose first sheet's XML is SHEET_HEAD + body + SHEET_TAIL; `body` is a string
    or an iterable of strings (streamed into the zip, so a huge sheet costs no memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(SHEET_HEAD.format(doctype=doctype, dimension=dimension).encode())
            for part in [body] if isinstance(body, str) else body:
                fh.write(part.encode())
            fh.write(SHEET_TAIL.encode())
    return path


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def sparse_extent(tmp: Path) -> Path:
    """1.7 KB: a header and one cell at XFD1048576."""
    return xlsx(
        tmp / "sparse.xlsx", header_row() + '<row r="1048576">' + cell("XFD1048576", "x") + "</row>"
    )


def declared_extent(tmp: Path) -> Path:
    """A sheet that declares A1:XFD1048576 as its used range."""
    return xlsx(tmp / "declared.xlsx", header_row(), dimension='<dimension ref="A1:XFD1048576"/>')


def cell_bomb(tmp: Path) -> Path:
    """Six million empty cells that compress to a few megabytes."""
    row = "<row>" + "<c/>" * 100 + "</row>"
    return xlsx(tmp / "cells.xlsx", (row * 1000 for _ in range(60)))


def whitespace_bomb(tmp: Path) -> Path:
    """A sheet of white space that unpacks to more than the limit (set low for the test)."""
    chunk = " " * (1 << 20)
    return xlsx(tmp / "spaces.xlsx", (chunk for _ in range(80)))


def entity_expansion(tmp: Path) -> Path:
    return xlsx(
        tmp / "laughs.xlsx",
        header_row() + '<row r="2">' + cell("B2", "&lol9;") + "</row>",
        doctype=LAUGHS,
    )


def external_entity(tmp: Path) -> Path:
    doctype = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return xlsx(
        tmp / "xxe.xlsx",
        header_row() + '<row r="2">' + cell("B2", "&xxe;") + "</row>",
        doctype=doctype,
    )


def entities_and_formula(tmp: Path) -> Path:
    body = header_row() + '<row r="2"><c r="B2"><f>HYPERLINK("http://x","&lol9;")</f></c></row>'
    return xlsx(tmp / "formula.xlsx", body, doctype=LAUGHS)


def entities_in_shared_strings(tmp: Path) -> Path:
    strings = (
        '<?xml version="1.0"?>' + LAUGHS + '<sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    return xlsx(tmp / "sst.xlsx", header_row(), extra={"xl/sharedStrings.xml": strings})


def broken_sheet(tmp: Path) -> Path:
    path = xlsx(tmp / "broken.xlsx", header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>x')
    return path


HOSTILE = {
    "sparse extent": (sparse_extent, "1,048,576"),
    "declared extent": (declared_extent, "1,048,576"),
    "cell bomb": (cell_bomb, "5,000,000"),
    "whitespace bomb": (whitespace_bomb, "字节"),
    "entity expansion": (entity_expansion, "实体"),
    "external entity": (external_entity, "实体"),
    "entities and a formula": (entities_and_formula, "实体"),
    "entities in shared strings": (entities_in_shared_strings, "实体"),
    "broken sheet": (broken_sheet, "已损坏"),
}

READER = textwrap.dedent(
    """
    import json, os, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wuyi.settings")
    import django
    django.setup()
    from django.utils import translation
    from wuyi.lib.spreadsheets import ImportFileError, Limits, read_rows
    translation.activate("zh-hans")
    started = time.perf_counter()
    result = {{}}
    try:
        limits = Limits(max_unpacked=64 * 1024 * 1024)
        result["rows"] = sum(1 for _ in read_rows(sys.argv[1], limits))
    except ImportFileError as exc:
        result["refused"] = str(exc.message)
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result, ensure_ascii=False))
    """
)


def read_in_subprocess(path: Path) -> dict:
    script = READER.format(limit=MEMORY_LIMIT_MB * 1024 * 1024)
    proc = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=settings.BASE_DIR,
        check=False,
    )
    assert proc.returncode == 0, f"the reader died (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_is_refused_with_bounded_memory(tmp_path, name):
    build, fragment = HOSTILE[name]
    path = build(tmp_path)
    result = read_in_subprocess(path)
    assert "refused" in result, result
    assert fragment in result["refused"], result["refused"]
    assert result["peak_mb"] < PEAK_LIMIT_MB, result
    print(f"{name}: {path.stat().st_size:,} bytes → {result}")


@pytest.mark.parametrize("name", ["sparse extent", "cell bomb", "entity expansion", "broken sheet"])
def test_hostile_file_ends_its_job_and_writes_nothing(tmp_path, secretary_a, compound_a, name):
    path = HOSTILE[name][0](tmp_path)
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    services.import_job_check(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert job.report["file_error"]
    assert not Path(job.path).exists()
    assert not Resident.objects.exists() and not Household.objects.exists()


def test_utf16_csv_is_read(tmp_path, compound_a):
    rows = [[1, "张桂兰", "女", "", "13893112345", "1", "2", "501", "户主", "", ""]]
    for encoding in ("utf-16", "utf-16-le"):
        path = write_csv(tmp_path / f"{encoding}.csv", rows, encoding=encoding)
        report = services.resident_import(
            path=path,
            community_id=compound_a.community_id,
            compound_id=compound_a.pk,
            by=None,
            dry_run=True,
        )
        assert report["new"] == 1 and report["bad_rows"] == 0, report


def test_gbk_csv_is_read(tmp_path, compound_a):
    rows = [[1, "张桂兰", "女", "", "13893112345", "1", "2", "501", "户主", "独居老人", ""]]
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gbk")
    report = services.resident_import(
        path=path,
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=None,
        dry_run=True,
    )
    assert report["new"] == 1 and report["bad_rows"] == 0, report


def test_rows_of_white_space_are_blank_rows(tmp_path, compound_a):
    rows = [
        [1, "张桂兰", "女", "", "", "1", "2", "501", "户主", "", ""],
        ["  ", " ", "\u3000", "", "\t", "", "", "", "", "", ""],
        [2, "李建国", "男", "", "", "1", "2", "502", "户主", "", ""],
    ]
    report = services.resident_import(
        path=write_xlsx(tmp_path / "ws.xlsx", rows),
        community_id=compound_a.community_id,
        compound_id=compound_a.pk,
        by=None,
        dry_run=True,
    )
    assert report["total_rows"] == 2 and report["bad_rows"] == 0, report


def test_a_job_that_keeps_killing_the_worker_is_failed(secretary_a, compound_a, tmp_path):
    """acks_late delivers a task again when its worker died; after a few starts the job ends
    with a message instead, and its file is deleted."""
    path = write_xlsx(tmp_path / "l.xlsx", [[1, "王芳", "", "", "", "1", "1", "101", "", "", ""]])
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    # Three deliveries that died half-way: the state says checking, the count says three.
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.CHECKING, attempts=services.MAX_JOB_ATTEMPTS
    )
    services.import_job_check(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert "3" in job.report["file_error"]
    assert not Path(job.path).exists()


def test_an_unexpected_error_ends_the_job(secretary_a, compound_a, tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "l.xlsx", [[1, "王芳", "", "", "", "1", "1", "101", "", "", ""]])
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )

    def explode(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(services, "plan_import", explode)
    services.import_job_check(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and job.report["file_error"]
    assert not Path(job.path).exists()


def test_leftover_uploads_are_purged(secretary_a, compound_a, tmp_path):
    import datetime
    import os

    from django.core.management import call_command
    from django.utils import timezone

    path = write_xlsx(tmp_path / "l.xlsx", [[1, "王芳", "", "", "", "1", "1", "101", "", "", ""]])
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    job = services.import_job_create(
        by=secretary_a, community=compound_a.community, compound=compound_a, upload=upload
    )
    services.import_job_check(job_id=job.pk)  # checked, waiting for the commit: file kept
    stray = services.import_dir() / "stray.csv"
    stray.write_text("姓名\n王芳\n")
    old = (timezone.now() - datetime.timedelta(days=2)).timestamp()
    os.utime(stray, (old, old))
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    from io import StringIO

    out = StringIO()
    call_command("purge_import_files", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "deleted 1 files, ended 1 jobs"
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and not Path(job.path).exists()
    assert not stray.exists()
    out = StringIO()
    call_command("purge_import_files", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "deleted 0 files, ended 0 jobs"
