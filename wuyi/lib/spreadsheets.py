"""Spreadsheets in and out: the lists committees upload, and the lists we hand back.

Reading. :func:`read_rows` turns an xlsx, xls or csv file into rows of cells: xlsx and xls
through python-calamine (about twelve times faster than openpyxl), merged cells filled with
their top-left value, formula cells marked (:class:`FormulaCell`) so that the caller can refuse
them by row and column; csv in UTF-8 (with or without a BOM) or GBK/GB18030, comma or tab
separated. :func:`find_header` finds the header row under any title rows and maps its columns
through a table of aliases, comparing headers without spaces, punctuation and case.
:class:`RowError` names one problem by row (as Excel numbers it) and column (as the file's
header writes it).

Writing. :func:`spreadsheet_safe` neutralises text a spreadsheet would run as a formula;
:func:`write_xlsx` streams rows into a write-only workbook (memory stays flat whatever the row
count) with every cell made safe.

Whatever is wrong with a file as a whole raises :class:`ImportFileError`, a
:class:`~wuyi.lib.errors.Refused` whose message a secretary understands.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

from .cn import to_halfwidth
from .errors import Refused

HEADER_SCAN_ROWS = 30


class ImportFileError(Refused):
    """The file as a whole cannot be read. The message says why, for a secretary."""

    code = "file"


@dataclass(slots=True)
class RowError:
    """One problem in an uploaded list: row as Excel numbers it (1-based), column as headed."""

    row: int
    column: str
    message: str
    value: str = ""

    def as_dict(self) -> dict:
        data = {"row": self.row, "column": self.column, "message": self.message}
        if self.value:
            data["value"] = self.value
        return data


class FormulaCell(str):
    """Marks a cell that held a formula; the row parser reports it."""

    __slots__ = ()

    def __new__(cls) -> FormulaCell:
        return super().__new__(cls, "")


_FORMULA_PREFIX = ("=", "+", "@")


def is_formula(value: Any) -> bool:
    """A cell a spreadsheet would run: a formula cell, or text starting (after white space)
    with = + or @."""
    if isinstance(value, FormulaCell):
        return True
    return isinstance(value, str) and value.lstrip().startswith(_FORMULA_PREFIX)


def is_blank(row: Sequence[Any]) -> bool:
    """A row with no value in any cell (a formula cell counts as a value)."""
    for value in row:
        if value is not None and (value != "" or isinstance(value, FormulaCell)):
            return False
    return True


# ----------------------------------------------------------------------------- reading files


def read_rows(path: str | Path) -> list[list[Any]]:
    """All rows of the first sheet (or of the csv), merged cells filled."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ImportFileError(_("The file could not be read.")) from exc
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _read_calamine(path)
    return _read_csv(path)


def _damaged() -> ImportFileError:
    return ImportFileError(
        _("The file is damaged or is not an Excel workbook. Save it again from Excel.")
    )


def _read_calamine(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        merged = sheet.merged_cell_ranges or []
    except Exception as exc:  # calamine raises several error types for damaged files
        raise _damaged() from exc
    for (r1, c1), (r2, c2) in merged:
        if r1 >= len(rows):
            continue
        top_left = rows[r1][c1] if c1 < len(rows[r1]) else ""
        for r in range(r1, min(r2, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c1, min(c2, len(row) - 1) + 1):
                row[c] = top_left
    return rows


def _read_xlsx(path: Path) -> list[list[Any]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" not in names:
                raise ImportFileError(
                    _("This is not an Excel workbook (.xlsx). Upload an xlsx or csv file.")
                )
            sheet_names = sorted(
                n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)
            )
            formula_cells = _formula_cells(path, archive, sheet_names[:1])
    except zipfile.BadZipFile as exc:
        raise _damaged() from exc
    rows = _read_calamine(path)
    for row_index, col_index in formula_cells:
        if row_index < len(rows) and col_index < len(rows[row_index]):
            rows[row_index][col_index] = FormulaCell()
    return rows


def _formula_cells(
    path: Path, archive: zipfile.ZipFile, sheets: list[str]
) -> list[tuple[int, int]]:
    """(row, column) of formula cells in the first sheet; empty without reading it twice."""
    if not sheets:
        return []
    found = False
    with archive.open(sheets[0]) as fh:
        tail = b""
        while chunk := fh.read(1 << 20):
            if re.search(rb"<f[ >/]", tail + chunk):
                found = True
                break
            tail = chunk[-8:]
    if not found:
        return []
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = workbook.worksheets[0]
        return [
            (cell.row - 1, cell.column - 1)
            for row in sheet.iter_rows()
            for cell in row
            if getattr(cell, "data_type", None) == "f"
        ]
    finally:
        workbook.close()


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ImportFileError(_("This is not an Excel or csv file. Upload an xlsx or csv file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The csv file's text encoding is not UTF-8 or GBK."))
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


# ----------------------------------------------------------------------------- the header

_HEADER_STRIP = re.compile(r"[\s_\-—:：*＊()（）\[\]【】/]+")


def header_text(cell: Any) -> str:
    """A header cell as compared with the aliases: half-width, no spaces or punctuation,
    lower case."""
    if not isinstance(cell, str):
        return ""
    return _HEADER_STRIP.sub("", to_halfwidth(cell)).lower()


@dataclass(frozen=True)
class Header:
    """Where the header is and what it maps: index of the header row (0-based), {key: column
    index} and {column index: the header as the file writes it}."""

    index: int
    columns: dict[str, int]
    labels: dict[int, str]

    def label(self, key: str, default: str) -> str:
        """The file's own header for a key, or `default` when the file has no such column."""
        col = self.columns.get(key)
        return self.labels.get(col, default) if col is not None else default


def find_header(
    rows: Sequence[Sequence[Any]],
    aliases: Mapping[str, Iterable[str]],
    *,
    required: str,
    min_columns: int = 2,
    scan_rows: int = HEADER_SCAN_ROWS,
) -> Header | None:
    """The row among the first `scan_rows` that maps the most columns through `aliases`
    ({key: header spellings}) and has the `required` key; None when no row qualifies."""
    lookup = {header_text(alias): key for key, spellings in aliases.items() for alias in spellings}
    best: Header | None = None
    for index, row in enumerate(rows[:scan_rows]):
        columns: dict[str, int] = {}
        labels: dict[int, str] = {}
        for col, cell in enumerate(row):
            key = lookup.get(header_text(cell))
            if key and key not in columns:
                columns[key] = col
                labels[col] = str(cell).strip()
        if (
            required in columns
            and len(columns) >= min_columns
            and (best is None or len(columns) > len(best.columns))
        ):
            best = Header(index, columns, labels)
    return best


# ----------------------------------------------------------------------------- writing

_UNSAFE_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_UNSAFE_START):
        return "'" + value
    return value


def write_xlsx(
    fh: IO[bytes], *, title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> int:
    """Stream rows into an xlsx in `fh`, every cell made safe. Returns the count of rows.

    openpyxl's write-only workbook keeps no rows in memory: each is written to a temporary file
    as it comes, so a generator of rows read from the database streams end to end.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append([spreadsheet_safe(v) for v in header])
    count = 0
    for row in rows:
        sheet.append([spreadsheet_safe(v) for v in row])
        count += 1
    workbook.save(fh)
    return count
