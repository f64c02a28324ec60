"""The register's rules (residents.rules): addresses, whole records, who may keep the register."""

import pytest

from residents.rules import parse_room
from wuyi.lib.cn import NormalizeError


def error_code(func, *args, **kwargs) -> str:
    with pytest.raises(NormalizeError) as info:
        func(*args, **kwargs)
    return info.value.code


# --------------------------------------------------------------------------- parse_room


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3号楼2单元501", ("3", "2", "501")),
        ("3栋2单元501室", ("3", "2", "501")),
        ("3幢2单元501", ("3", "2", "501")),
        ("3-2-501", ("3", "2", "501")),
        ("3－2－501", ("3", "2", "501")),
        ("3—2—501", ("3", "2", "501")),
        (" 3 号楼 2 单元 501 室 ", ("3", "2", "501")),
        ("３号楼２单元５０１", ("3", "2", "501")),
        ("3号楼-2单元-501", ("3", "2", "501")),
        ("03号楼02单元0501", ("3", "2", "0501")),
        ("3号楼501", ("3", None, "501")),
        ("3栋501室", ("3", None, "501")),
        ("3-501", ("3", None, "501")),
        ("501", (None, None, "501")),
        ("501室", (None, None, "501")),
        ("501号", (None, None, "501")),
        (501, (None, None, "501")),
        (501.0, (None, None, "501")),
        ("2单元501", (None, "2", "501")),
        ("3号楼", ("3", None, None)),
        ("3号楼2单元", ("3", "2", None)),
        ("A座1单元101", ("A", "1", "101")),
        ("a座1单元101", ("A", "1", "101")),
        ("3#2单元501", ("3", "2", "501")),
        ("3#楼501", ("3", None, "501")),
        ("12号楼3单元1202", ("12", "3", "1202")),
        ("三号楼", ("3", None, None)),
        ("三号楼二单元501", ("3", "2", "501")),
        ("十号楼", ("10", None, None)),
        ("十二栋", ("12", None, None)),
        ("二十号楼", ("20", None, None)),
        ("两单元301", (None, "2", "301")),
        ("九十九号楼一单元101室", ("99", "1", "101")),
    ],
)
def test_parse_room(raw, expected):
    assert parse_room(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_parse_room_empty(raw):
    assert parse_room(raw) == (None, None, None)


@pytest.mark.parametrize(
    "raw",
    [
        "幸福小区",
        "3号楼2单元501室东",
        "3-2-501-7",
        "--",
        "3号楼号楼",
        "一百号楼",  # Chinese numerals only 1-99
        "零号楼",
        "三十十号楼",
        "3单元2号楼",
        "501/502",
    ],
)
def test_parse_room_invalid(raw):
    assert error_code(parse_room, raw) == "room_invalid"
