"""Reading the committees' resident lists: file type, header, cells, rows, and the plan.

read_rows() turns an xlsx, xls or csv into rows of cells; find_header() finds the header row
under any title rows and maps its columns; parse_rows() cleans every cell and names each problem
by row and column; plan_import() compares the rows with the register and counts what would be
new, updated or unchanged. services.resident_import() writes the plan. Nothing here writes.

Speed: python-calamine parses xlsx about twelve times faster than openpyxl, so the parser is not
the bottleneck; formula cells are detected by scanning the sheet XML for <f> elements (openpyxl
is opened only when there are some, to name them).
"""

import csv
import datetime
import io
import operator
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from compounds.models import Building, Compound

from . import normalize, pii
from .models import Category, Household, Resident, VulnerableTag

MAX_ERRORS_KEPT = 1000
HEADER_SCAN_ROWS = 30


class ImportFileError(Exception):
    """The file as a whole cannot be imported. The message says why, for a secretary."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Column keys and the headers committees use for them (compared after removing spaces,
# punctuation and case).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "居民姓名", "name", "fullname"),
    "gender": ("性别", "gender", "sex"),
    "national_id": (
        "身份证号",
        "身份证号码",
        "身份证",
        "证件号码",
        "公民身份号码",
        "idnumber",
        "nationalid",
        "id",
    ),
    "phone": ("手机", "手机号", "手机号码", "联系电话", "电话", "联系方式", "phone", "mobile"),
    "building": ("楼栋", "楼号", "楼栋号", "栋", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "门牌号", "房间号", "户号", "room"),
    "address": ("地址", "住址", "家庭住址", "详细地址", "address"),
    "compound": ("小区", "小区名称", "所在小区", "compound"),
    "relation": ("与户主关系", "户主关系", "关系", "relation", "relationship"),
    "categories": ("特殊人群", "人群类别", "人员类别", "特殊人群类别", "category", "categories"),
    "birth_date": ("出生日期", "出生年月", "生日", "birthdate", "dateofbirth"),
    "notes": ("备注", "说明", "notes", "note", "remarks"),
}
_ALIAS_TO_KEY = {alias: key for key, aliases in HEADER_ALIASES.items() for alias in aliases}
_HEADER_STRIP = re.compile(r"[\s_\-—:：*＊()（）\[\]【】/]+")

# Column names as shown in messages when the file's own header is not known.
COLUMN_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "national_id": "身份证号",
    "phone": "联系电话",
    "building": "楼栋",
    "unit": "单元",
    "room": "房号",
    "address": "地址",
    "compound": "小区",
    "relation": "与户主关系",
    "categories": "特殊人群",
    "birth_date": "出生日期",
    "notes": "备注",
}

CATEGORY_WORDS: dict[str, str] = {
    "独居老人": Category.ELDERLY_ALONE,
    "空巢老人": Category.ELDERLY_ALONE,
    "独居": Category.ELDERLY_ALONE,
    "老人": Category.ELDERLY,
    "老年人": Category.ELDERLY,
    "高龄老人": Category.ELDERLY,
    "孕妇": Category.PREGNANT,
    "孕产妇": Category.PREGNANT,
    "产妇": Category.PREGNANT,
    "婴幼儿": Category.INFANT,
    "婴儿": Category.INFANT,
    "残疾人": Category.DISABLED,
    "残疾": Category.DISABLED,
    "慢性病": Category.CHRONIC,
    "慢病": Category.CHRONIC,
    "基础疾病": Category.CHRONIC,
    "透析": Category.CHRONIC,
    "透析患者": Category.CHRONIC,
    "卧床": Category.BEDRIDDEN,
    "长期卧床": Category.BEDRIDDEN,
    "其他": Category.OTHER,
}
for _value, _label in Category.choices:
    CATEGORY_WORDS.setdefault(_value, _value)
ALLOWED_CATEGORY_WORDS = "独居老人、老人、孕产妇、婴幼儿、残疾人、慢性病、透析、卧床、其他"
_CATEGORY_SPLIT = re.compile(r"[、,，;；/\s]+")
_BAD_NAME = re.compile(r"[<>{}\[\]\\\"`=|\x00-\x1f]")
_FORMULA_PREFIX = ("=", "+", "@")


# ----------------------------------------------------------------------------- reading files


def read_rows(path: str | Path) -> tuple[list[list[Any]], str]:
    """All rows of the first sheet (or of the csv), merged cells filled, and the file kind."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ImportFileError(_("The file could not be read.")) from exc
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path), "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _read_calamine(path), "xls"
    return _read_csv(path), "csv"


def _read_calamine(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        merged = sheet.merged_cell_ranges or []
    except Exception as exc:  # calamine raises several error types for damaged files
        raise ImportFileError(
            _("The file is damaged or is not an Excel workbook. Save it again from Excel.")
        ) from exc
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
        raise ImportFileError(
            _("The file is damaged or is not an Excel workbook. Save it again from Excel.")
        ) from exc
    rows = _read_calamine(path)
    for row_index, col_index in formula_cells:
        if row_index < len(rows) and col_index < len(rows[row_index]):
            rows[row_index][col_index] = FormulaCell()
    return rows


class FormulaCell(str):
    """Marks a cell that held a formula; the row parser reports it."""

    __slots__ = ()

    def __new__(cls) -> "FormulaCell":
        return super().__new__(cls, "")


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


def _header_key(cell: Any) -> str | None:
    if not isinstance(cell, str):
        return None
    text = _HEADER_STRIP.sub("", normalize.to_halfwidth(cell)).lower()
    return _ALIAS_TO_KEY.get(text)


def find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int], dict[int, str]]:
    """The header row's index, {column key: index} and {index: the header as written}."""
    best: tuple[int, dict[str, int], dict[int, str]] | None = None
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        labels: dict[int, str] = {}
        for col, cell in enumerate(row):
            key = _header_key(cell)
            if key and key not in columns:
                columns[key] = col
                labels[col] = str(cell).strip()
        if (
            "name" in columns
            and len(columns) >= 2
            and (best is None or len(columns) > len(best[1]))
        ):
            best = (index, columns, labels)
    if best is None:
        raise ImportFileError(
            _(
                "No header row found in the first %(n)d rows. The list needs a header with at "
                "least 姓名 and the room (房号 or 地址)."
            )
            % {"n": HEADER_SCAN_ROWS}
        )
    index, columns, labels = best
    if "room" not in columns and "address" not in columns:
        raise ImportFileError(_("The header has no room column (房号, 门牌号 or 地址)."))
    return best


# ----------------------------------------------------------------------------- rows


@dataclass(slots=True)
class RowError:
    row: int  # as Excel numbers it: 1-based
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(slots=True)
class ParsedRow:
    row: int
    name: str
    compound: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""
    gender: str = ""
    birth_date: datetime.date | None = None
    phone: str = ""
    national_id: str = ""
    id_hash: str | None = None  # pii.id_hash(national_id), computed once here
    relation: str = ""
    notes: str = ""
    categories: tuple[str, ...] = ()
    treatment: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalize.to_halfwidth(str(value))


_SPACES = re.compile(r"[\s\u3000]+")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _free_text(value: Any) -> str:
    """Names and notes: trimmed, but Chinese punctuation kept as written."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", str(value).translate(_ZERO_WIDTH)).strip()


def _categories(text: str) -> tuple[tuple[str, ...], str, list[str]]:
    found: list[str] = []
    unknown: list[str] = []
    treatment = ""
    for word in _CATEGORY_SPLIT.split(text):
        if not word:
            continue
        category = CATEGORY_WORDS.get(word)
        if category is None:
            unknown.append(word)
            continue
        if word.startswith("透析"):
            treatment = "透析"
        if category not in found:
            found.append(category)
    return tuple(found), treatment, unknown


_BUILDING_SUFFIX = re.compile(r"(号楼|号|栋|幢|楼)$")
_UNIT_SUFFIX = re.compile(r"(单元)$")
_ROOM_SUFFIX = re.compile(r"(室|号)$")


def _is_formula(value: str) -> bool:
    """Text that a spreadsheet would run as a formula (after any leading white space)."""
    return value.lstrip().startswith(_FORMULA_PREFIX)


def parse_rows(
    rows: list[list[Any]],
    header_index: int,
    columns: dict[str, int],
    labels: dict[int, str],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[ParsedRow], list[RowError], int]:
    """Clean every data row. Returns the good rows, the errors and the count of data rows.

    Runs once per row of lists of 100,000 rows: the column lookups are worked out once, before
    the loop, and each cell is read once.
    """
    errors: list[RowError] = []
    parsed: list[ParsedRow] = []
    seen_ids: dict[str, int] = {}
    label = {key: labels.get(col, COLUMN_LABELS[key]) for key, col in columns.items()}
    get = columns
    today = datetime.date.today()
    data_rows = 0
    mapped = list(get.items())
    width = max(get.values()) + 1
    # Column of each key, or None when the list has no such column (its cells read as "").
    col = {key: get.get(key) for key in COLUMN_LABELS}
    # The optional text cells: their column, or the padding cell (always "") after the others.
    text_cells = operator.itemgetter(
        *(
            width if col[key] is None else col[key]
            for key in ("building", "unit", "room", "compound", "relation", "notes", "categories")
        )
    )
    room_label = label.get("room") or label.get("address")
    building_label = label.get("building") or room_label
    formula_message = _("The cell holds a formula; enter the value itself.")
    id_hash = pii.id_hash

    def clean(key: str, func: Callable[[Any], Any], value: Any, errs: list[RowError], at: int):
        try:
            return func(value)
        except normalize.NormalizeError as exc:
            errs.append(RowError(at, label[key], str(exc.message)))
            return None

    def national_id_of(value: Any) -> str:
        return normalize.normalize_national_id(value, today=today)

    # Buildings, units, rooms, genders, relations and categories repeat from row to row: each
    # distinct cell is cleaned once. Keys carry the type (1, 1.0 and True are equal dict keys).
    texts: dict[tuple[type, Any], str] = {}
    free_texts: dict[tuple[type, Any], str] = {}
    genders: dict[tuple[type, Any], str | None] = {}

    def text(value: Any) -> str:
        key = (type(value), value)
        result = texts.get(key)
        if result is None:
            result = texts[key] = _text(value)
        return result

    def free_text(value: Any) -> str:
        key = (type(value), value)
        result = free_texts.get(key)
        if result is None:
            result = free_texts[key] = _free_text(value)
        return result

    def gender_of(value: Any) -> str | None:
        key = (type(value), value)
        if key not in genders:
            genders[key] = normalize.normalize_gender(value)  # an error is not kept: raised
        return genders[key]

    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        for value in row:
            if value is not None and (value != "" or isinstance(value, FormulaCell)):
                break
        else:
            continue  # blank row
        data_rows += 1
        if progress and data_rows % 5000 == 0:
            progress(data_rows)
        cells = list(row[:width])  # the mapped columns, padded to width, then one "" for the rest
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        cells.append("")
        row_errors: list[RowError] = []

        formula_in_row = False
        for key, index in mapped:
            value = cells[index]
            # Inline first look (this runs for every cell): a formula cell, or text whose first
            # character is = + @ or white space.
            if isinstance(value, str) and (
                isinstance(value, FormulaCell)
                or (value and (value[0] in "=+@" or value[0].isspace()) and _is_formula(value))
            ):
                row_errors.append(RowError(offset, label[key], formula_message))
                formula_in_row = True
        if formula_in_row:
            errors.extend(row_errors)
            continue

        name = _free_text(cells[col["name"]])
        if not name:
            row_errors.append(RowError(offset, label["name"], _("The name is empty.")))
        elif len(name) > 50:
            row_errors.append(RowError(offset, label["name"], _("The name is too long.")))
        elif _BAD_NAME.search(name):
            row_errors.append(
                RowError(
                    offset,
                    label["name"],
                    _("The name contains symbols such as < > that a name cannot have."),
                )
            )
        item = ParsedRow(row=offset, name=name)

        if col["national_id"] is not None:
            national_id = clean(
                "national_id", national_id_of, cells[col["national_id"]], row_errors, offset
            )
            if national_id:
                # Validated and 18 characters long: the birth date and the gender are read off
                # it (birth_date_from_id and gender_from_id would validate it twice more).
                item.national_id = national_id
                item.id_hash = id_hash(national_id)
                item.birth_date = datetime.date(
                    int(national_id[6:10]), int(national_id[10:12]), int(national_id[12:14])
                )
                item.gender = "M" if int(national_id[16]) % 2 else "F"
                first = seen_ids.get(national_id)
                if first is not None:
                    row_errors.append(
                        RowError(
                            offset,
                            label["national_id"],
                            _("The same ID number is already on row %(row)d.") % {"row": first},
                        )
                    )
                else:
                    seen_ids[national_id] = offset
        if col["gender"] is not None:
            gender = clean("gender", gender_of, cells[col["gender"]], row_errors, offset)
            if gender:
                if item.gender and gender != item.gender:
                    row_errors.append(
                        RowError(
                            offset, label["gender"], _("The gender does not match the ID number.")
                        )
                    )
                item.gender = gender
        if not item.birth_date and col["birth_date"] is not None:
            item.birth_date = clean(
                "birth_date", normalize.parse_date, cells[col["birth_date"]], row_errors, offset
            )
        if col["phone"] is not None:
            item.phone = (
                clean("phone", normalize.normalize_phone, cells[col["phone"]], row_errors, offset)
                or ""
            )

        c_building, c_unit, c_room, c_compound, c_relation, c_notes, c_categories = text_cells(
            cells
        )
        building = text(c_building)
        unit = text(c_unit)
        room = text(c_room)
        if col["address"] is not None and not (building and room):
            parsed_room = clean(
                "address", normalize.parse_room, cells[col["address"]], row_errors, offset
            )
            if parsed_room:
                building = building or (parsed_room[0] or "")
                unit = unit or (parsed_room[1] or "")
                room = room or (parsed_room[2] or "")
        building = _BUILDING_SUFFIX.sub("", building).lstrip("0") or building
        unit = _UNIT_SUFFIX.sub("", unit).lstrip("0") or unit
        room = _ROOM_SUFFIX.sub("", room)
        if not room:
            row_errors.append(RowError(offset, room_label, _("The room number is empty.")))
        if not building:
            row_errors.append(RowError(offset, building_label, _("The building is empty.")))
        item.building, item.unit, item.room = building, unit, room
        item.compound = free_text(c_compound)
        item.relation = free_text(c_relation)[:20]
        item.notes = free_text(c_notes)[:500]
        category_text = text(c_categories)
        if category_text:
            categories, treatment, unknown = _categories(category_text)
            if unknown:
                row_errors.append(
                    RowError(
                        offset,
                        label["categories"],
                        _("Unknown category “%(words)s”. Use: %(allowed)s.")
                        % {
                            "words": "、".join(unknown),
                            "allowed": ALLOWED_CATEGORY_WORDS,
                        },
                    )
                )
            item.categories, item.treatment = categories, treatment

        if row_errors:
            errors.extend(row_errors)
        else:
            parsed.append(item)
    if data_rows == 0:
        raise ImportFileError(_("The list has a header but no rows of residents."))
    return parsed, errors, data_rows


# ----------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """What an import would do. Built by plan_import; written by services.resident_import."""

    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    new_households: dict[tuple[int, str, str], tuple[int, int]] = field(default_factory=dict)
    households: dict[tuple[int, str, str], int] = field(default_factory=dict)
    creates: list[tuple[ParsedRow, tuple[int, str, str]]] = field(default_factory=list)
    updates: list[tuple[int, ParsedRow, tuple[int, str, str]]] = field(default_factory=list)
    unchanged: int = 0
    new_tags: list[tuple[int | None, ParsedRow]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def report(self) -> dict:
        errors = sorted(self.errors, key=lambda e: e.row)
        return {
            "total_rows": self.total_rows,
            "new": len(self.creates),
            "updated": len(self.updates),
            "unchanged": self.unchanged,
            "new_households": len(self.new_households),
            "bad_rows": self.bad_rows,
            "error_count": len(errors),
            "errors": [e.as_dict() for e in errors[:MAX_ERRORS_KEPT]],
            "warnings": self.warnings,
        }


def _chunks(items: list, size: int = 5000) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan_import(
    *,
    rows: list[ParsedRow],
    errors: list[RowError],
    total_rows: int,
    community_id: int,
    compound: Compound | None,
) -> Plan:
    """Match the parsed rows against the register of one community."""
    plan = Plan(total_rows=total_rows, errors=list(errors))
    compounds = {c.name: c for c in Compound.objects.filter(community_id=community_id)}
    buildings: dict[tuple[int, str], int] = {
        (b.compound_id, b.number): b.pk
        for b in Building.objects.filter(compound__community_id=community_id).only(
            "id", "compound_id", "number"
        )
    }
    households: dict[tuple[int, str, str], int] = {
        (h.building_id, h.unit, h.room): h.pk
        for h in Household.objects.filter(compound__community_id=community_id).only(
            "id", "building_id", "unit", "room"
        )
    }
    plan.households = households

    # Which compound and building each row lives in.
    placed: list[tuple[ParsedRow, int, int]] = []
    for item in rows:
        target = compound
        if item.compound:
            target = compounds.get(item.compound)
            if target is None:
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["compound"],
                        _("There is no compound “%(name)s” in this community.")
                        % {"name": item.compound},
                    )
                )
                continue
        if target is None:
            plan.errors.append(
                RowError(
                    item.row,
                    COLUMN_LABELS["compound"],
                    _("Choose the compound on the import page, or add a 小区 column."),
                )
            )
            continue
        building_id = buildings.get((target.pk, item.building))
        if building_id is None:
            plan.errors.append(
                RowError(
                    item.row,
                    COLUMN_LABELS["building"],
                    _("%(compound)s has no building %(building)s.")
                    % {"compound": target.name, "building": item.building},
                )
            )
            continue
        placed.append((item, target.pk, building_id))

    # Residents already registered under these ID numbers, anywhere in the city.
    by_hash: dict[str, ParsedRow] = {}
    for item, _c, _b in placed:
        if item.national_id:
            if item.id_hash is None:
                item.id_hash = pii.id_hash(item.national_id)
            by_hash[item.id_hash] = item
    existing: dict[str, dict] = {}
    fields = ("id", "id_hash", "community_id", "household_id", "name", "gender", "birth_date")
    fields += ("phone", "relation", "notes")
    for chunk in _chunks(list(by_hash)):
        for values in Resident.objects.filter(id_hash__in=chunk).values(*fields):
            existing[values["id_hash"]] = values
    # Residents without an ID number are matched on household and name.
    by_household_name: dict[tuple[int, str], dict] = {}
    household_ids = [
        households[(b, item.unit, item.room)]
        for item, _c, b in placed
        if not item.national_id and (b, item.unit, item.room) in households
    ]
    for chunk in _chunks(sorted(set(household_ids))):
        for values in Resident.objects.filter(household_id__in=chunk, id_hash__isnull=True).values(
            *fields
        ):
            by_household_name[(values["household_id"], values["name"])] = values

    tags: dict[int, set[str]] = {}
    matched_ids = [v["id"] for v in existing.values()] + [
        v["id"] for v in by_household_name.values()
    ]
    for chunk in _chunks(matched_ids):
        for resident_id, category in VulnerableTag.objects.filter(
            resident_id__in=chunk
        ).values_list("resident_id", "category"):
            tags.setdefault(resident_id, set()).add(category)

    seen_no_id: set[tuple[int, str, str, str]] = set()
    for item, compound_id, building_id in placed:
        key = (building_id, item.unit, item.room)
        if key not in households and key not in plan.new_households:
            plan.new_households[key] = (compound_id, building_id)
        household_id = households.get(key)
        current = None
        if item.national_id:
            current = existing.get(item.id_hash)
            if current is not None and current["community_id"] != community_id:
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["national_id"],
                        _(
                            "This ID number is registered in another community. Ask that "
                            "community to remove the resident first."
                        ),
                    )
                )
                continue
        else:
            no_id_key = (*key, item.name)
            if no_id_key in seen_no_id:
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["name"],
                        _("The same name appears twice in this household without ID numbers."),
                    )
                )
                continue
            seen_no_id.add(no_id_key)
            if household_id is not None:
                current = by_household_name.get((household_id, item.name))
        if current is None:
            plan.creates.append((item, key))
            if item.categories:
                plan.new_tags.append((None, item))
            continue
        if _changes(current, item, household_id):
            plan.updates.append((current["id"], item, key))
        else:
            plan.unchanged += 1
        if set(item.categories) - tags.get(current["id"], set()):
            plan.new_tags.append((current["id"], item))
    return plan


def _changes(current: dict, item: ParsedRow, household_id: int | None) -> bool:
    """Would the row change the resident? Empty cells never erase what is registered."""
    if current["household_id"] != household_id:
        return True
    for name in ("name", "gender", "birth_date", "phone", "relation", "notes"):
        value = getattr(item, name)
        if value not in ("", None) and value != current[name]:
            return True
    return False
