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

import codecs
import csv
import io
import re
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    """A row with no value in any cell: empty, or white space only (a formula cell counts as
    a value)."""
    for value in row:
        if value is None:
            continue
        if isinstance(value, str):
            if isinstance(value, FormulaCell) or value.strip():
                return False
        else:
            return False
    return True


# ----------------------------------------------------------------------------- reading files


@dataclass(frozen=True)
class Limits:
    """What one uploaded list may hold, checked before and while it is read.

    A 1.7 KB xlsx with one cell at XFD1048576 declares a sheet of 17 billion cells, which a
    reader that allocates the used range would try to hold; an 8 MB zip can unpack to
    gigabytes. Each bound here turns such a file into a message naming the limit instead.
    """

    max_unpacked: int = 400 * 1024 * 1024  # bytes of zip members read, all together
    max_rows: int = 200_000
    max_columns: int = 100
    max_cells: int = 5_000_000  # rows x columns of the used range, and cells present
    max_seconds: float = 600.0
    max_field: int = 32_767  # characters in one cell (Excel's own limit)

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_unpacked=getattr(settings, "WUYI_IMPORT_MAX_UNPACKED", cls.max_unpacked),
            max_rows=getattr(settings, "WUYI_IMPORT_MAX_ROWS", cls.max_rows),
            max_seconds=getattr(settings, "WUYI_IMPORT_MAX_SECONDS", cls.max_seconds),
        )


def read_rows(path: str | Path, limits: Limits | None = None) -> Iterator[list[Any]]:
    """The rows of the first sheet (or of the csv), one list of cells per row from the first
    row of the sheet, merged cells filled with their top-left value, formula cells marked.

    The file is checked against `limits` before the first row is produced (ImportFileError
    names the limit), and rows are produced one at a time: the caller never holds the sheet.
    """
    path = Path(path)
    limits = limits or Limits.from_settings()
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ImportFileError(_("The file could not be read.")) from exc
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        formulas = _check_xlsx(path, limits)
        return _timed(_read_calamine(path, formulas), limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _timed(_read_calamine(path, set()), limits)
    return _timed(_read_csv(path, limits), limits)


def _damaged() -> ImportFileError:
    return ImportFileError(
        _("The file is damaged or is not an Excel workbook. Save it again from Excel.")
    )


def _too_big(what: str, found: int, limit: int) -> ImportFileError:
    return ImportFileError(
        _(
            "The list is too large to import: %(what)s %(found)s, at most %(limit)s. Delete "
            "empty rows and columns below and beside the list, or split it into parts."
        )
        % {"what": what, "found": f"{found:,}", "limit": f"{limit:,}"}
    )


def _timed(rows: Iterator[list[Any]], limits: Limits) -> Iterator[list[Any]]:
    """Stop a read that takes longer than the limit (checked every thousand rows)."""
    deadline = time.monotonic() + limits.max_seconds
    for count, row in enumerate(rows, start=1):
        if count % 1000 == 0 and time.monotonic() > deadline:
            raise ImportFileError(
                _("Reading the list took longer than %(n)d seconds; split it into parts.")
                % {"n": limits.max_seconds}
            )
        yield row


# Worksheet XML, scanned as bytes: tags never span a chunk (the scan cuts at the last "<").
_SCAN_CHUNK = 1 << 20
_ROW_REF = re.compile(rb"<row\b[^>]*?\sr=\"(\d+)\"")
_CELL = re.compile(rb"<c[\s>/]")
_CELL_REF = re.compile(rb"<c\b[^>]*?\sr=\"([A-Z]+)(\d+)\"")
_DIMENSION = re.compile(rb"<dimension\b[^>]*?\sref=\"[A-Z]*\d*:?([A-Z]+)(\d+)\"")
_FORMULA = re.compile(rb"<f[\s>/]")
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _first_sheet(archive: zipfile.ZipFile, names: list[str]) -> str:
    """The member holding the first sheet in the workbook's own order."""
    sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    try:
        workbook = archive.read("xl/workbook.xml")[: 1 << 20]
        rels = archive.read("xl/_rels/workbook.xml.rels")[: 1 << 20]
    except KeyError:
        return sheets[0] if sheets else ""
    match = re.search(rb"<sheet\b[^>]*?\sr:id=\"([^\"]+)\"", workbook)
    if match:
        target = re.search(
            rb"<Relationship\b[^>]*?Id=\"" + re.escape(match[1]) + rb"\"[^>]*?Target=\"([^\"]+)\"",
            rels,
        ) or re.search(
            rb"<Relationship\b[^>]*?Target=\"([^\"]+)\"[^>]*?Id=\"" + re.escape(match[1]) + rb"\"",
            rels,
        )
        if target:
            name = target[1].decode("utf-8", "replace").lstrip("/")
            name = name if name.startswith("xl/") else "xl/" + name
            if name in names:
                return name
    return sheets[0] if sheets else ""


def _check_xlsx(path: Path, limits: Limits) -> set[tuple[int, int]]:
    """Bound an xlsx before anything allocates its sheet: the unpacked size of its members,
    the declared and the real extent of the first sheet, its cells; refuse XML entity
    definitions. Returns the (row, column) of formula cells (0-based)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if "xl/workbook.xml" not in names:
                raise ImportFileError(
                    _("This is not an Excel workbook (.xlsx). Upload an xlsx or csv file.")
                )
            declared = sum(info.file_size for info in infos)
            if declared > limits.max_unpacked:
                raise _too_big(_("unpacked size in bytes"), declared, limits.max_unpacked)
            sheet = _first_sheet(archive, names)
            if not sheet:
                raise _damaged()
            budget = limits.max_unpacked
            for name in ("xl/sharedStrings.xml", "xl/workbook.xml", "xl/styles.xml"):
                if name in names:
                    budget -= _scan_text_member(archive, name, budget, limits)
            has_formulas = _scan_sheet(archive, sheet, budget, limits)
    except zipfile.BadZipFile as exc:
        raise _damaged() from exc
    except (zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise _damaged() from exc
    return _formula_cells(path) if has_formulas else set()


def _scan_text_member(archive: zipfile.ZipFile, name: str, budget: int, limits: Limits) -> int:
    """Read a member through, counting real bytes (a zip may lie about sizes) and refusing
    entity definitions. Returns the bytes read."""
    read = 0
    with archive.open(name) as fh:
        head = True
        while chunk := fh.read(_SCAN_CHUNK):
            read += len(chunk)
            if read > budget:
                raise _too_big(_("unpacked size in bytes"), read, limits.max_unpacked)
            if head and _DOCTYPE.search(chunk[:4096]):
                raise _entities()
            head = False
    return read


def _entities() -> ImportFileError:
    return ImportFileError(
        _(
            "The file contains XML entity definitions, which Excel never writes. Open it in "
            "Excel and save it again."
        )
    )


def _scan_sheet(archive: zipfile.ZipFile, name: str, budget: int, limits: Limits) -> bool:
    """Stream the sheet's XML once: its declared extent, the farthest cell, the count of
    cells, whether it has formulas. Refuses what would not fit the limits."""
    max_row = max_col = cells = read = 0
    formulas = False
    tail = b""
    with archive.open(name) as fh:
        first = True
        while chunk := fh.read(_SCAN_CHUNK):
            read += len(chunk)
            if read > budget:
                raise _too_big(_("unpacked size in bytes"), read, limits.max_unpacked)
            buffer = tail + chunk
            if first:
                if _DOCTYPE.search(buffer[:4096]):
                    raise _entities()
                dimension = _DIMENSION.search(buffer)
                if dimension:
                    _check_extent(int(dimension[2]), _column_number(dimension[1]), limits)
                first = False
            cut = buffer.rfind(b"<")
            if cut < 0:
                body, tail = buffer, b""  # text only (white space): nothing to keep
            else:
                body, tail = buffer[:cut], buffer[cut:]
                if len(tail) > _SCAN_CHUNK:  # one "tag" of a megabyte: not a sheet
                    raise _damaged()
            for match in _ROW_REF.finditer(body):
                max_row = max(max_row, int(match[1]))
            for match in _CELL_REF.finditer(body):
                max_col = max(max_col, _column_number(match[1]))
                max_row = max(max_row, int(match[2]))
            cells += len(_CELL.findall(body))
            if cells > limits.max_cells:
                raise _too_big(_("cells"), cells, limits.max_cells)
            formulas = formulas or bool(_FORMULA.search(body))
            if max_row > limits.max_rows or max_col > limits.max_columns:
                _check_extent(max_row, max_col, limits)
    _check_extent(max_row, max_col, limits)
    return formulas


def _check_extent(rows: int, columns: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise _too_big(_("rows"), rows, limits.max_rows)
    if columns > limits.max_columns:
        raise _too_big(_("columns"), columns, limits.max_columns)
    if rows * columns > limits.max_cells:
        raise _too_big(_("cells in the used range"), rows * columns, limits.max_cells)


def _read_calamine(path: Path, formulas: set[tuple[int, int]]) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        start_col = sheet.start[1] if sheet.start else 0
        merged = sorted(sheet.merged_cell_ranges or [])
    except Exception as exc:  # calamine raises several error types for damaged files
        raise _damaged() from exc
    return _fill(rows, start_col, merged, formulas)


def _fill(
    rows: Iterator[list[Any]],
    start_col: int,
    merged: list[tuple[tuple[int, int], tuple[int, int]]],
    formulas: set[tuple[int, int]],
) -> Iterator[list[Any]]:
    """Rows from the sheet's first row and column, merged ranges filled with their top-left
    value (remembered when its row passes), formula cells marked."""
    pad = [""] * start_col
    active: list[tuple[int, int, int, Any]] = []  # (last row, first col, last col, value)
    upcoming = list(merged)
    formula_cols: dict[int, list[int]] = {}
    for r, c in formulas:
        formula_cols.setdefault(r, []).append(c)
    try:
        for index, raw in enumerate(rows):
            row = [*pad, *raw] if pad else list(raw)
            while upcoming and upcoming[0][0][0] <= index:
                (r1, c1), (r2, c2) = upcoming.pop(0)
                if r1 == index:
                    value = row[c1] if c1 < len(row) else ""
                    active.append((r2, c1, c2, value))
            active = [a for a in active if a[0] >= index]
            for _r2, c1, c2, value in active:
                for c in range(c1, min(c2, len(row) - 1) + 1):
                    row[c] = value
            for c in formula_cols.get(index, ()):
                if c < len(row):
                    row[c] = FormulaCell()
            yield row
    except ImportFileError:
        raise
    except Exception as exc:  # an error inside calamine's row iterator
        raise _damaged() from exc


def _formula_cells(path: Path) -> set[tuple[int, int]]:
    """(row, column) of formula cells in the first sheet (0-based). Run only on a sheet that
    the scan found bounded and holding formulas."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl (through defusedxml) refuses entities, damaged XML
        raise _damaged() from exc
    try:
        sheet = workbook.worksheets[0]
        return {
            (cell.row - 1, cell.column - 1)
            for row in sheet.iter_rows()
            for cell in row
            if getattr(cell, "data_type", None) == "f"
        }
    except Exception as exc:
        raise _damaged() from exc
    finally:
        workbook.close()


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _csv_encoding(raw: bytes) -> str:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding
    if b"\x00" in raw[:4096]:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
        sample = raw[:4096]
        if sample[1::2].count(0) > len(sample) // 4:
            return "utf-16-le"
        if sample[0::2].count(0) > len(sample) // 4:
            return "utf-16-be"
        raise ImportFileError(_("This is not an Excel or csv file. Upload an xlsx or csv file."))
    for encoding in ("utf-8", "gb18030"):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError(
        _("The csv file's text encoding is not UTF-8, UTF-16 or GBK. Save it as UTF-8.")
    )


def _read_csv(path: Path, limits: Limits) -> Iterator[list[Any]]:
    raw = path.read_bytes()  # bounded by the upload limit
    encoding = _csv_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The csv file's text encoding could not be read (%(encoding)s).")
            % {"encoding": encoding}
        ) from exc
    del raw
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return _csv_rows(text, delimiter, limits)


def _csv_rows(text: str, delimiter: str, limits: Limits) -> Iterator[list[Any]]:
    csv.field_size_limit(limits.max_field)
    cells = 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            if number > limits.max_rows:
                raise _too_big(_("rows"), number, limits.max_rows)
            if len(row) > limits.max_columns:
                raise _too_big(_("columns"), len(row), limits.max_columns)
            cells += len(row)
            if cells > limits.max_cells:
                raise _too_big(_("cells"), cells, limits.max_cells)
            yield row
    except csv.Error as exc:
        raise ImportFileError(
            _("The csv file is damaged (%(problem)s). Save it again from Excel.")
            % {"problem": str(exc)[:80]}
        ) from exc


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
