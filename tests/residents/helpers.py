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
