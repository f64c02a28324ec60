"""Parsing a resident list: from the rows of a spreadsheet to checked rows, naming each bad
cell by row and column.

The first of the import's three steps (parse, plan, write), after wuyi.lib.spreadsheets has
read the file. Every cell goes through the register's rules (residents.rules, wuyi.lib.cn), the
same functions the form, the API and the services call. Nothing here reads the database.
"""

import datetime
import functools
import operator
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.utils import timezone
from django.utils.translation import gettext as _

from wuyi.lib import cn, pii
from wuyi.lib.spreadsheets import (
    FormulaCell,
    Header,
    ImportFileError,
    RowError,
    find_header,
    is_blank,
    is_formula,
)

from .. import rules

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

# The header of the template committees download (residents.services.import_template_xlsx).
TEMPLATE_HEADER = [
    "序号",
    "姓名",
    "性别",
    "身份证号码",
    "联系电话",
    "楼栋",
    "单元",
    "房号",
    "与户主关系",
    "特殊人群",
    "备注",
]

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


def header_of(rows: list[list[Any]]) -> Header:
    """The list's header, among its first rows: at least the name and the room (a room or an
    address column)."""
    header = find_header(rows, HEADER_ALIASES, required="name")
    if header is None:
        raise ImportFileError(
            _(
                "No header row found in the first %(n)d rows. The list needs a header with at "
                "least 姓名 and the room (房号 or 地址)."
            )
            % {"n": 30}
        )
    if "room" not in header.columns and "address" not in header.columns:
        raise ImportFileError(_("The header has no room column (房号, 门牌号 or 地址)."))
    return header


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
    id_hash: str | None = None  # pii.keyed_hash(national_id), computed once here
    relation: str = ""
    notes: str = ""
    categories: tuple[str, ...] = ()
    treatment: str = ""
    details: dict[str, str] = field(
        default_factory=dict
    )  # category -> "糖尿病" from "慢性病(糖尿病)"


@dataclass
class Parsed:
    """The good rows, the errors, the count of data rows (blank rows not counted), and each
    category word not understood with the count of rows that use it."""

    rows: list[ParsedRow]
    errors: list[RowError]
    total: int
    unknown_words: dict[str, int] = field(default_factory=dict)


def _cached(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`func` over cell values that repeat from row to row (buildings, units, genders,
    relations, categories): each distinct cell is cleaned once, and an error is raised again
    for each row that has it. Keys carry the type (1, 1.0 and True are equal dict keys)."""
    results: dict[tuple[type, Any], Any] = {}

    def cached(value: Any) -> Any:
        key = (type(value), value)
        try:
            result = results[key]
        except KeyError:
            try:
                result = func(value)
            except cn.NormalizeError as exc:
                result = exc
            results[key] = result
        except TypeError:  # an unhashable cell value
            return func(value)
        if isinstance(result, cn.NormalizeError):
            raise result
        return result

    return cached


class _RowCleaner:
    """What parse_rows works out once per list, before its loop (the column of each key, the
    labels errors name, the cached cleaners), and the cleaning of one row's cells: the loop
    runs once per row of lists of 100,000 rows, so each cell is read once."""

    TEXT_KEYS = ("building", "unit", "room", "compound", "relation", "notes", "categories")

    def __init__(self, header: Header, mappings: dict[str, str] | None) -> None:
        columns = header.columns
        self.label = {key: header.label(key, COLUMN_LABELS[key]) for key in COLUMN_LABELS}
        today = timezone.localdate()  # birth dates and ID numbers are bounded by Shanghai's day
        self.mapped = list(columns.items())
        self.width = max(columns.values()) + 1
        # Column of each key, or None when the list has no such column (its cells read as "").
        self.col = col = {key: columns.get(key) for key in COLUMN_LABELS}
        # The optional text cells: their column, or the padding cell (always "") after the others.
        self.text_cells = operator.itemgetter(
            *(self.width if col[key] is None else col[key] for key in self.TEXT_KEYS)
        )
        self.has_address = col["address"] is not None
        # Where an address error is shown: the part's own column, or the one the part came from.
        self.address_label = {key: self.label[key] for key in ("building", "unit", "room")}
        self.address_column_label = {
            key: self.label[key] if col[key] is not None else self.label["address"]
            for key in ("building", "unit")
        }
        self.address_column_label["room"] = self.label["address"]
        self.formula_message = _("The cell holds a formula; enter the value itself.")
        self.national_id_of = functools.partial(cn.normalize_national_id, today=today)
        self.gender_of = _cached(cn.normalize_gender)
        self.free_text = _cached(cn.free_text)
        self.relation_of = _cached(rules.clean_relation)
        self.address_of = _cached(lambda cells: rules.clean_address(*cells))
        self.categories_of = _cached(
            lambda v: rules.parse_categories(cn.to_halfwidth(str(v)), mappings=mappings)
        )
        self.unknown_words: Counter[str] = Counter()
        self.seen_ids: dict[str, int] = {}

    def cells(self, row: list[Any]) -> list[Any]:
        """The mapped columns, padded to width, then one "" for the columns the list lacks."""
        cells = list(row[: self.width])
        if len(cells) < self.width:
            cells.extend([""] * (self.width - len(cells)))
        cells.append("")
        return cells

    def clean(
        self, key: str, func: Callable[[Any], Any], value: Any, errs: list[RowError], at: int
    ):
        try:
            return func(value)
        except cn.NormalizeError as exc:
            shown = _shown(value, masked=key in ("national_id", "phone"))
            errs.append(RowError(at, self.label[key], str(exc.message), shown))
            return None

    def formula_errors(self, cells: list[Any], offset: int) -> list[RowError]:
        errors = []
        for key, index in self.mapped:
            value = cells[index]
            # Inline first look (this runs for every cell): a formula cell, or text whose first
            # character is = + @ or white space.
            if isinstance(value, str) and (
                isinstance(value, FormulaCell)
                or (value and (value[0] in "=+@" or value[0].isspace()) and is_formula(value))
            ):
                errors.append(RowError(offset, self.label[key], self.formula_message))
        return errors

    def person(self, cells: list[Any], offset: int, row_errors: list[RowError]) -> ParsedRow:
        """The row's person: name, ID number (birth date and gender read off it), gender,
        birth date, phone."""
        col, clean = self.col, self.clean
        # The name column is required (header_of): its index is never None.
        name = clean("name", cn.clean_name, cells[cast(int, col["name"])], row_errors, offset) or ""
        item = ParsedRow(row=offset, name=name)
        if col["national_id"] is not None:
            national_id = clean(
                "national_id", self.national_id_of, cells[col["national_id"]], row_errors, offset
            )
            if national_id:
                # Validated and 18 characters long: the birth date and the gender are read off
                # it (birth_date_from_id and gender_from_id would validate it twice more).
                item.national_id = national_id
                item.id_hash = pii.keyed_hash(national_id)
                item.birth_date = datetime.date(
                    int(national_id[6:10]), int(national_id[10:12]), int(national_id[12:14])
                )
                item.gender = "M" if int(national_id[16]) % 2 else "F"
                first = self.seen_ids.get(national_id)
                if first is not None:
                    row_errors.append(
                        RowError(
                            offset,
                            self.label["national_id"],
                            _("The same ID number is already on row %(row)d.") % {"row": first},
                        )
                    )
                else:
                    self.seen_ids[national_id] = offset
        if col["gender"] is not None:
            gender = clean("gender", self.gender_of, cells[col["gender"]], row_errors, offset)
            if gender:
                if item.gender and gender != item.gender:
                    row_errors.append(
                        RowError(offset, self.label["gender"], str(rules.MSG_GENDER_MISMATCH))
                    )
                item.gender = gender
        if not item.birth_date and col["birth_date"] is not None:
            item.birth_date = clean(
                "birth_date", rules.clean_birth_date, cells[col["birth_date"]], row_errors, offset
            )
        if col["phone"] is not None:
            item.phone = (
                clean("phone", cn.normalize_phone, cells[col["phone"]], row_errors, offset) or ""
            )
        return item

    def household(
        self, item: ParsedRow, cells: list[Any], offset: int, row_errors: list[RowError]
    ) -> None:
        """The row's household and its place in it: address, compound, relation, notes and
        vulnerable categories, written onto `item`."""
        c_building, c_unit, c_room, c_compound, c_relation, c_notes, c_categories = self.text_cells(
            cells
        )
        room_cell, labels = c_room, self.address_label
        if self.has_address and (c_room in (None, "") or c_building in (None, "")):
            # The address column carries the room, and the building and unit it names.
            room_cell, labels = cells[cast(int, self.col["address"])], self.address_column_label
        named_compound = ""  # "云祥小区5号楼3单元601" names its compound
        try:
            address = self.address_of((c_building, c_unit, room_cell))
        except cn.NormalizeError as exc:
            row_errors.append(
                RowError(offset, labels[exc.field or "room"], str(exc.message), _shown(room_cell))
            )
        else:
            item.building, item.unit, item.room = address.building, address.unit, address.room
            named_compound = address.compound
        item.compound = self.free_text(c_compound) or named_compound
        item.relation = (
            self.clean("relation", self.relation_of, c_relation, row_errors, offset) or ""
        )
        item.notes = self.clean("notes", rules.clean_notes, c_notes, row_errors, offset) or ""
        if c_categories not in (None, ""):
            found = self.categories_of(c_categories)
            if found.unknown:
                self.unknown_words.update(found.unknown)
                row_errors.append(
                    RowError(
                        offset,
                        self.label["categories"],
                        str(
                            rules.MSG_CATEGORY_UNKNOWN
                            % {"words": "、".join(found.unknown), "allowed": rules.ALLOWED_WORDS}
                        ),
                        _shown(c_categories),
                    )
                )
            item.categories, item.treatment = found.categories, found.treatment
            item.details = found.details


def parse_rows(
    rows: Iterable[list[Any]],
    header: Header,
    *,
    mappings: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Parsed:
    """Clean every data row of `rows` (all the sheet's rows, from its first: those down to the
    header are skipped).

    Runs once per row of lists of 100,000 rows: the column lookups are worked out once, before
    the loop (_RowCleaner), and each cell is read once.
    """
    cleaner = _RowCleaner(header, mappings)
    errors: list[RowError] = []
    parsed: list[ParsedRow] = []
    data_rows = 0
    for offset, row in enumerate(rows, start=1):
        if offset <= header.index + 1 or is_blank(row):
            continue
        data_rows += 1
        if progress and data_rows % 5000 == 0:
            progress(data_rows)
        cells = cleaner.cells(row)
        formula_errors = cleaner.formula_errors(cells, offset)
        if formula_errors:
            errors.extend(formula_errors)
            continue
        row_errors: list[RowError] = []
        item = cleaner.person(cells, offset, row_errors)
        cleaner.household(item, cells, offset, row_errors)
        if row_errors:
            errors.extend(row_errors)
        else:
            parsed.append(item)
    if data_rows == 0:
        raise ImportFileError(_("The list has a header but no rows of residents."))
    return Parsed(parsed, errors, data_rows, dict(cleaner.unknown_words))


def _shown(value: Any, *, masked: bool = False) -> str:
    """A bad cell's value as the error list shows it beside the message: shortened, and an ID
    number or a phone masked (the report is kept with the job)."""
    text = cn.excel_number_text(value)
    if masked and text:
        return text[:3] + "…" + text[-2:] if len(text) > 6 else "*" * len(text)
    return text if len(text) <= 40 else text[:39] + "…"
