"""Build committee-style resident lists for tests and benches."""

from pathlib import Path

import openpyxl

from wuyi.lib.cn import id_check_char

HEADER = [
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


def make_id(serial: int, born: str = "19800101", area: str = "620102", female=False) -> str:
    """A valid 18-digit ID; the 17th digit is odd for men, even for women."""
    body = f"{area}{born}{serial % 100:02d}{2 * (serial % 5) + (0 if female else 1)}"
    return body + id_check_char(body)


def write_xlsx(
    path: Path, rows: list[list], *, title: str | None = "天庆社区居民登记表", header=HEADER
):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list], *, encoding="utf-8-sig", header=HEADER):
    import csv

    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def seen(found: dict) -> dict:
    """Contacts (residents.registry) as {resident id: [(kind, at)]}, comparable."""
    return {pk: [(c.kind, c.at) for c in contacts] for pk, contacts in found.items()}


def contacts_both_ways(provider, residents, day) -> dict:
    """A contacts provider asked about `residents` (a values("pk") subquery) as a list of ids
    and as the subquery: the same contacts, the subquery in one query that stays in SQL.
    Returns what the list found."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from_list = provider(list(residents.values_list("pk", flat=True)), day)
    with CaptureQueriesContext(connection) as ctx:
        from_subquery = provider(residents, day)
    assert len(ctx.captured_queries) == 1
    assert "IN (SELECT" in ctx.captured_queries[0]["sql"]
    assert seen(from_list) == seen(from_subquery)
    return from_list
