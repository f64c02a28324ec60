"""Reading a lab's result sheet (xlsx or csv) into a checked plan, on the ground floor's
spreadsheet reading (the hostile-file bounds of the register's import apply).

A row names its tube by barcode (试管编码/管码/条码: pooled and single tubes) or, for a single
tube, its person by ID number (身份证号). Every tube of the round is read in one query and every
ID number hashed in one pass, so a sheet of 500,000 rows costs two queries, not 500,000.
"""

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from wuyi.lib import cn, pii
from wuyi.lib.errors import Refused
from wuyi.lib.spreadsheets import (
    HEADER_SCAN_ROWS,
    Header,
    ImportFileError,
    Limits,
    RowError,
    find_header,
    header_text,
    is_blank,
    is_formula,
    read_rows,
)

from .models import Result, Sample, TestingRound, Tube, TubeKind
from .rules import result_of

ALIASES = {
    "barcode": ("试管编码", "管码", "条码", "试管条码", "试管号", "barcode", "tube"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "id number"),
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机号码", "联系电话", "phone"),
    "taken_at": ("采样时间", "sampled at"),
    "result": ("检测结果", "结果", "result"),
}
LABELS = {
    "barcode": "试管编码",
    "id_number": "身份证号",
    "result": "检测结果",
}
MAX_ERRORS = 200


@dataclass
class ResultPlan:
    rows: int = 0
    matched: int = 0
    changes: dict[int, str] = field(default_factory=dict)  # tube id -> result to write
    unchanged: int = 0
    positive_pools: int = 0
    positive_singles: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    unknown_words: dict[str, list[int]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    @property
    def unmatched(self) -> int:
        return self.rows - self.matched

    def error(self, row: int, column: str, message: str, value: str = "") -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, column, message, value))

    def summary(self) -> str:
        return (
            f"matched {self.matched} of {self.rows} rows: {self.positive_pools} positive pools, "
            f"{self.positive_singles} cases, {self.unmatched} unmatched"
        )


def limits() -> Limits:
    base = Limits.from_settings()
    return Limits(
        max_unpacked=base.max_unpacked,
        max_rows=getattr(settings, "WUYI_RESULTS_MAX_ROWS", 600_000),
        max_cells=max(base.max_cells, 6_000_000),
        max_seconds=base.max_seconds,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return cn.excel_number_text(value) if isinstance(value, int | float) else str(value).strip()


def read_results(path: str | Path, testing_round: TestingRound) -> ResultPlan:
    """Check a result sheet against the round; nothing is written. Raises ImportFileError when
    the file as a whole cannot be read (a formula-bomb, entities, too many rows, no header)."""
    rows = read_rows(path, limits())
    head = list(itertools.islice(rows, HEADER_SCAN_ROWS))
    header = find_header(head, ALIASES, required="result")
    if header is None or not ({"barcode", "id_number"} & set(header.columns)):
        raise ImportFileError(
            _(
                "No header row found: the sheet needs a 检测结果 column and a 试管编码 (管码, "
                "条码) or 身份证号 column."
            )
        )
    plan = ResultPlan()
    mapped = set(header.columns.values())
    plan.ignored_columns = [
        str(cell).strip()
        for col, cell in enumerate(head[header.index])
        if col not in mapped and header_text(cell)
    ]
    reader = _Reader(plan, header, testing_round)
    # First pass: read and check each row's words; ID numbers kept for one hashing pass.
    for offset, row in enumerate(itertools.chain(head[header.index + 1 :], rows)):
        reader.read_row(header.index + 2 + offset, row)
    reader.match_ids(testing_round)
    plan.errors.sort(key=lambda e: e.row)
    return plan


class _Reader:
    """One reading of a result sheet: the round's tubes, and the rows matched so far."""

    def __init__(self, plan: ResultPlan, header: Header, testing_round: TestingRound) -> None:
        self.plan = plan
        self.c_bar = header.columns.get("barcode")
        self.c_id = header.columns.get("id_number")
        self.c_res = header.columns["result"]
        self.bar_label = header.label("barcode", LABELS["barcode"])
        self.id_label = header.label("id_number", LABELS["id_number"])
        self.res_label = header.label("result", LABELS["result"])
        # One query: every tube of the round.
        self.tubes: dict[str, tuple[int, str, str]] = {
            barcode: (pk, result, kind)
            for pk, barcode, result, kind in Tube.objects.filter(round=testing_round).values_list(
                "pk", "barcode", "result", "kind"
            )
        }
        self.kinds = {pk: kind for pk, _result, kind in self.tubes.values()}
        self.current = {pk: result for pk, result, _kind in self.tubes.values()}
        self.pending_ids: list[tuple[int, str, str]] = []  # (row number, id18, result)
        self.by_tube: dict[int, tuple[int, str]] = {}  # tube id -> (first row, result)

    @staticmethod
    def cells(row: list[Any], col: int | None) -> Any:
        return row[col] if col is not None and col < len(row) else None

    def read_row(self, row_no: int, row: list[Any]) -> None:
        """Check one row's words: match its barcode now, or keep its ID number for later."""
        plan = self.plan
        if is_blank(row):
            return
        plan.rows += 1
        if any(is_formula(cell) for cell in row):
            plan.error(row_no, "", _("This row holds a formula; send the values only."))
            return
        word = _text(self.cells(row, self.c_res))
        result = rules_result(word)
        if result is None:
            plan.unknown_words.setdefault(word, []).append(row_no)
            plan.error(
                row_no,
                self.res_label,
                _("“%(word)s” is not a result we know: write 阴性, 阳性 or 待复核.")
                % {"word": word},
                word,
            )
            return
        barcode = _text(self.cells(row, self.c_bar)).upper()
        if barcode:
            found = self.tubes.get(barcode)
            if found is None:
                plan.error(
                    row_no,
                    self.bar_label,
                    _("Tube %(tube)s was not sampled in this round (or is of another district).")
                    % {"tube": barcode},
                    barcode,
                )
                return
            self.take(row_no, found[0], result, self.bar_label, barcode)
            return
        raw_id = self.cells(row, self.c_id)
        if raw_id in (None, ""):
            plan.error(
                row_no, self.bar_label, _("The row has neither a tube barcode nor an ID number.")
            )
            return
        try:
            id18 = cn.normalize_national_id(raw_id)
        except (cn.NormalizeError, Refused) as exc:
            plan.error(row_no, self.id_label, str(exc))
            return
        self.pending_ids.append((row_no, id18, result))

    def match_ids(self, testing_round: TestingRound) -> None:
        """Match the rows kept by ID number to the round's single tubes, in one hashing pass."""
        if not self.pending_ids:
            return
        hashes = pii.keyed_hashes([id18 for _r, id18, _res in self.pending_ids])
        # One query: the single tubes of the round by their person's hash; a retest's tube
        # (the later one) wins over the first single tube.
        singles: dict[str, int] = {}
        for h, tube_id in (
            Sample.objects.filter(round=testing_round, tube__kind=TubeKind.SINGLE)
            .order_by("retest", "pk")
            .values_list("resident__id_hash", "tube_id")
        ):
            if h:
                singles[h] = tube_id
        for (row_no, id18, result), h in zip(self.pending_ids, hashes, strict=True):
            found_id = singles.get(h)
            if found_id is None:
                self.plan.error(
                    row_no,
                    self.id_label,
                    _("Nobody with ID %(id)s was sampled in a single tube in this round.")
                    % {"id": cn.mask_national_id(id18)},
                )
                continue
            self.take(row_no, found_id, result, self.id_label, cn.mask_national_id(id18))

    def take(self, row_no: int, tube_id: int, result: str, column: str, value: str) -> None:
        """Record one row's result for its tube, unless it contradicts one already read."""
        plan = self.plan
        seen = self.by_tube.get(tube_id)
        if seen is not None:
            if seen[1] != result:
                plan.error(
                    row_no,
                    column,
                    _(
                        "Tube %(tube)s has two different results: row %(first)d says %(a)s, "
                        "this row %(b)s."
                    )
                    % {
                        "tube": value,
                        "first": seen[0],
                        "a": Result(seen[1]).label,
                        "b": Result(result).label,
                    },
                    value,
                )
            return
        self.by_tube[tube_id] = (row_no, result)
        before = self.current.get(tube_id, "")
        if before and before != Result.REVIEW and before != result:
            plan.error(
                row_no,
                self.res_label,
                _("Tube %(tube)s already has the result %(before)s; this sheet says %(now)s.")
                % {"tube": value, "before": Result(before).label, "now": Result(result).label},
                value,
            )
            return
        plan.matched += 1
        if before == result:
            plan.unchanged += 1
            return
        plan.changes[tube_id] = result
        if result == Result.POSITIVE:
            if self.kinds[tube_id] == TubeKind.SINGLE:
                plan.positive_singles += 1
            else:
                plan.positive_pools += 1


def rules_result(word: str) -> str | None:
    return result_of(word)
