"""Tests for wuyi.lib.cn, the Chinese value rules (pure functions, no database)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.functional import Promise

from wuyi.lib.cn import (
    NormalizeError,
    birth_date_from_id,
    excel_number_text,
    gender_from_id,
    mask_id_last4,
    mask_national_id,
    mask_phone,
    normalize_gender,
    normalize_national_id,
    normalize_phone,
    parse_date,
    to_halfwidth,
)

TODAY = datetime.date(2025, 6, 1)
SAMPLE_ID = "11010519491231002X"  # the well-known GB 11643-1999 example


def check_char(body17: str) -> str:
    """Independent ISO 7064 MOD 11-2 implementation (weights derived as 2**k mod 11)."""
    assert len(body17) == 17
    assert body17.isdigit()
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str = "620102", birth: str = "19850612", seq: str = "123") -> str:
    body = region + birth + seq
    return body + check_char(body)


def wrong_check(id18: str) -> str:
    """Same ID with a different (hence wrong) check character."""
    other = "0" if id18[-1] != "0" else "1"
    return id18[:-1] + other


def error_code(func, *args, **kwargs) -> str:
    with pytest.raises(NormalizeError) as info:
        func(*args, **kwargs)
    return info.value.code


# --------------------------------------------------------------------------- helpers sanity


def test_independent_checksum_matches_known_samples():
    assert check_char(SAMPLE_ID[:17]) == "X"
    assert check_char("44052418800101001") == "4"


# --------------------------------------------------------------------------- NormalizeError


def test_error_is_value_error_with_lazy_english_message():
    with translation.override("en"), pytest.raises(ValueError, match="check digit") as info:
        normalize_national_id(wrong_check(SAMPLE_ID), today=TODAY)
    err = info.value
    assert isinstance(err, NormalizeError)
    assert isinstance(err.message, Promise)
    assert err.code == "id_check_digit"
    with translation.override("en"):
        assert str(err) == "The ID number's check digit is wrong."
        assert err.args[0] == err.message


def test_error_default_code():
    assert NormalizeError("x").code == "invalid"
    assert str(NormalizeError("plain")) == "plain"


# --------------------------------------------------------------------------- to_halfwidth


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("abc", "abc"),
        ("１２３ＡＢＣａｂｃ", "123ABCabc"),
        ("（０９３１）８１２３４５６", "(0931)8123456"),
        ("！～", "!~"),
        ("\u3000张三\u3000", "张三"),
        ("  a \t\n  b   c ", "a b c"),
        ("a\u3000\u3000b", "a b"),
        ("\ufeff138\u200b1234\u200b5678", "13812345678"),
        ("\u200c\u200d\u2060x", "x"),
        ("中文保持不变", "中文保持不变"),
    ],
)
def test_to_halfwidth(raw, expected):
    assert to_halfwidth(raw) == expected


def test_to_halfwidth_covers_whole_fullwidth_block():
    full = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
    half = "".join(chr(c) for c in range(0x21, 0x7F))
    assert to_halfwidth(full) == half


# --------------------------------------------------------------------------- excel_number_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        (13812345678, "13812345678"),
        (0, "0"),
        (-5, "-5"),
        (13812345678.0, "13812345678"),
        (501.0, "501"),
        (3.5, "3.5"),
        (Decimal(13812345678), "13812345678"),
        (Decimal("13812345678.00"), "13812345678"),
        (Decimal("1.25"), "1.25"),
        ("1.3812345678E10", "13812345678"),
        ("1.3812345678e+10", "13812345678"),
        ("13812345678.0", "13812345678"),
        ("１３８１２３４５６７８．０", "13812345678"),
        (" 13812345678 ", "13812345678"),
        ("0931", "0931"),  # leading zeros are kept for plain digit strings
        ("007", "007"),
        ("1.5", "1.5"),  # not integral: unchanged
        ("1.2345E2", "1.2345E2"),  # 123.45 is not integral
        ("abc", "abc"),
        ("3号楼", "3号楼"),
    ],
)
def test_excel_number_text(raw, expected):
    assert excel_number_text(raw) == expected


def test_excel_number_text_uses_decimal_not_float():
    # float("1.10105194912310021E17") would give ...0016/...0032; Decimal keeps the digits.
    assert excel_number_text("1.10105194912310021E17") == "110105194912310021"
    assert excel_number_text("123456789012345678.0") == "123456789012345678"


def test_excel_number_text_float_keeps_displayed_digits():
    # repr() of this float is 1.1010519491231002e+17: digits beyond Excel's precision.
    assert excel_number_text(110105194912310021.0) == "110105194912310020"


def test_excel_number_text_odd_values():
    assert excel_number_text(float("nan")) == "nan"
    assert excel_number_text("1e999999") == "1e999999"  # absurd exponent: left alone
    assert excel_number_text(True) == "True"


# --------------------------------------------------------------------------- national ID


def test_national_id_well_known_sample():
    assert normalize_national_id(SAMPLE_ID, today=TODAY) == SAMPLE_ID
    assert normalize_national_id(SAMPLE_ID.lower(), today=TODAY) == SAMPLE_ID
    assert normalize_national_id(SAMPLE_ID) == SAMPLE_ID  # default "today"


@pytest.mark.parametrize(
    ("region", "birth", "seq"),
    [
        ("620102", "19850612", "123"),
        ("620102", "20000229", "001"),  # leap day
        ("110105", "19491231", "002"),
        ("440524", "18800101", "001"),  # earliest allowed year
        ("310101", "20250601", "998"),  # born "today"
        ("510107", "19700101", "555"),
        ("370202", "19991231", "000"),
        ("650102", "20121212", "777"),
    ],
)
def test_national_id_generated_valid(region, birth, seq):
    id18 = make_id(region, birth, seq)
    assert normalize_national_id(id18, today=TODAY) == id18


def test_national_id_every_check_char_value():
    """Walk sequence numbers until each of the 11 possible check characters has been seen."""
    seen: set[str] = set()
    for n in range(1000):
        id18 = make_id("620102", "19850612", f"{n:03d}")
        seen.add(id18[-1])
        assert normalize_national_id(id18, today=TODAY) == id18
        assert error_code(normalize_national_id, wrong_check(id18), today=TODAY) == (
            "id_check_digit"
        )
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    "raw",
    [
        "110105 19491231 002X",
        "110105-19491231-002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "\u3000 11010519491231002X \ufeff",
        "110105\u200b19491231002X",
    ],
)
def test_national_id_cleanup(raw):
    assert normalize_national_id(raw, today=TODAY) == SAMPLE_ID


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", " - "])
def test_national_id_empty_returns_empty_string(raw):
    assert normalize_national_id(raw, today=TODAY) == ""


def test_national_id_legacy_15_digits():
    assert normalize_national_id("110105491231002", today=TODAY) == SAMPLE_ID
    legacy = "620102850612123"
    assert normalize_national_id(legacy, today=TODAY) == make_id("620102", "19850612", "123")
    # Stored as a number: 15 digits fit in Excel's precision.
    assert normalize_national_id(110105491231002, today=TODAY) == SAMPLE_ID
    assert normalize_national_id(110105491231002.0, today=TODAY) == SAMPLE_ID


def test_national_id_from_exact_integer_cell():
    id18 = make_id("620102", "19850612", "124")
    assert id18[-1] != "X"
    assert normalize_national_id(int(id18), today=TODAY) == id18


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100",  # 16
        "11010519491231002",  # 17
        "11010519491231002XX",  # 19
        "12345",
        "1101054912310",  # 13
    ],
)
def test_national_id_wrong_length(raw):
    assert error_code(normalize_national_id, raw, today=TODAY) == "id_length"


@pytest.mark.parametrize(
    "raw",
    [
        "1101051949123100X2",  # X not last
        "X10105194912310021",
        "11010519491231002A",
        "110105194912310O2X",  # letter O instead of zero
        "11010549123100X",  # 15-digit IDs have no check char
        "11010519491231002\u0663",  # Arabic-Indic digit
    ],
)
def test_national_id_bad_characters(raw):
    assert error_code(normalize_national_id, raw, today=TODAY) == "id_chars"


@pytest.mark.parametrize(
    "birth",
    [
        "19490230",  # no Feb 30
        "19990229",  # not a leap year
        "19001301",  # month 13
        "19850000",
        "18791231",  # before 1880
        "20250602",  # tomorrow relative to TODAY
        "29990101",
    ],
)
def test_national_id_bad_birth_date(birth):
    id18 = make_id("620102", birth, "123")  # correct check digit, so only the date is wrong
    assert error_code(normalize_national_id, id18, today=TODAY) == "id_birth_date"


def test_national_id_legacy_bad_birth_date():
    assert error_code(normalize_national_id, "110105490230002", today=TODAY) == "id_birth_date"


def test_national_id_bad_check_digit():
    assert error_code(normalize_national_id, "110105194912310021", today=TODAY) == (
        "id_check_digit"
    )
    id18 = make_id()
    assert error_code(normalize_national_id, wrong_check(id18), today=TODAY) == "id_check_digit"
    # A transposition of two body digits is caught by the checksum too.
    swapped = id18[:14] + id18[15] + id18[14] + id18[16:]
    if swapped != id18:
        assert error_code(normalize_national_id, swapped, today=TODAY) == "id_check_digit"


@pytest.mark.parametrize(
    "raw",
    [
        1.10105194912310e17,  # float cell: digits beyond 15 lost
        "1.10105194912310E+17",  # what a CSV export shows
        "1.10105E+17",
        6.20102198506121e17,
        1.1010519491231e16,  # wrong length after conversion
        110105194912310000,  # int cell that had already lost digits
    ],
)
def test_national_id_stored_as_number_lost_digits(raw):
    with pytest.raises(NormalizeError) as info:
        normalize_national_id(raw, today=TODAY)
    assert info.value.code == "id_lost_digits"
    with translation.override("en"):
        assert "stored as a number" in str(info.value)


def test_national_id_plain_string_of_wrong_length_is_not_lost_digits():
    assert error_code(normalize_national_id, "110105194912310000", today=TODAY) != (
        "id_lost_digits"
    )


def test_national_id_error_messages_are_distinct():
    with translation.override("en"):
        messages = set()
        for raw in ["123", "11010519491231002A", make_id(birth="19490230"), wrong_check(make_id())]:
            with pytest.raises(NormalizeError) as info:
                normalize_national_id(raw, today=TODAY)
            messages.add(str(info.value))
        assert len(messages) == 4


# --------------------------------------------------------------------------- birth date / gender


def test_birth_date_and_gender_from_sample():
    assert birth_date_from_id(SAMPLE_ID) == datetime.date(1949, 12, 31)
    assert gender_from_id(SAMPLE_ID) == "F"  # 17th digit is 2


@pytest.mark.parametrize(
    ("seq", "gender"),
    [("001", "M"), ("002", "F"), ("123", "M"), ("998", "F"), ("555", "M"), ("000", "F")],
)
def test_gender_from_id(seq, gender):
    id18 = make_id("620102", "19850612", seq)
    assert gender_from_id(id18) == gender
    assert birth_date_from_id(id18) == datetime.date(1985, 6, 12)


def test_birth_date_and_gender_accept_lowercase_and_legacy():
    assert birth_date_from_id(SAMPLE_ID.lower()) == datetime.date(1949, 12, 31)
    assert birth_date_from_id("110105491231002") == datetime.date(1949, 12, 31)
    assert gender_from_id("110105491231001") == "M"


@pytest.mark.parametrize("func", [birth_date_from_id, gender_from_id])
def test_birth_date_and_gender_reject_invalid(func):
    assert error_code(func, "") == "id_empty"
    assert error_code(func, "123") == "id_length"
    assert error_code(func, wrong_check(SAMPLE_ID)) == "id_check_digit"


# --------------------------------------------------------------------------- mask_national_id


def test_mask_national_id_shows_the_last_four_only():
    """Neither the area nor the birth date shows: with an age beside it, the month and day
    stay unknown, so a mask cannot be combined into the number."""
    assert mask_national_id("620102198506121234") == "**************1234"
    assert mask_national_id(SAMPLE_ID) == "**************002X"
    assert mask_national_id("11010519491231002x") == "**************002X"
    assert mask_national_id(" 110105 19491231 002X ") == "**************002X"
    assert mask_national_id("") == ""
    assert mask_national_id("12345") == "*****"
    assert mask_national_id("110105491231002") == "***********1002"
    assert mask_id_last4("002X") == mask_national_id(SAMPLE_ID)
    assert mask_id_last4("") == ""


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-13812345678", "13812345678"),
        ("(+86)13812345678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("0086 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        (13812345678, "13812345678"),
        (13812345678.0, "13812345678"),
        ("1.3812345678E10", "13812345678"),
        ("13812345678.0", "13812345678"),
        ("\ufeff13812345678\u200b", "13812345678"),
    ],
)
def test_normalize_phone_mobile(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0931-8123456", "0931-8123456"),
        ("(0931)8123456", "0931-8123456"),
        ("（0931）8123456", "0931-8123456"),
        ("(0931) 8123456", "0931-8123456"),
        ("09318123456", "0931-8123456"),
        ("0931 8123456", "0931-8123456"),
        ("0931 812 3456", "0931-8123456"),
        ("０９３１－８１２３４５６", "0931-8123456"),
        ("010-65123456", "010-65123456"),
        ("01065123456", "010-65123456"),
        ("(010)65123456", "010-65123456"),
        ("021-61234567", "021-61234567"),
        ("02061234567", "020-61234567"),
        ("029-8765432", "029-8765432"),
        ("0311-85123456", "0311-85123456"),
        ("0755 26123456", "0755-26123456"),
        ("0931-8123456-123", "0931-8123456-123"),
        ("09318123456-123", "0931-8123456-123"),
        ("0931-8123456转123", "0931-8123456-123"),
        ("0931-8123456 转 8", "0931-8123456-8"),
        ("0931-8123456分机123", "0931-8123456-123"),
        ("0931-8123456 ext. 123", "0931-8123456-123"),
        ("010-6512345-6", "010-6512345-6"),
        ("+86 931 8123456", "0931-8123456"),
        ("+86 (0)931 8123456", "0931-8123456"),
        ("0086 10 65123456", "010-65123456"),
        ("+86 10 6512 3456", "010-65123456"),
        ("+86 21 61234567", "021-61234567"),
        (9318123456, "0931-8123456"),  # Excel number lost the leading 0
        (9318123456.0, "0931-8123456"),
        (1065123456, None),  # 10 digits starting with 1 is still an error
    ],
)
def test_normalize_phone_landline(raw, expected):
    if expected is None:
        assert error_code(normalize_phone, raw) == "phone_mobile_length"
    else:
        assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_normalize_phone_empty(raw):
    assert normalize_phone(raw) == ""


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1381234567", "phone_mobile_length"),  # 10 digits
        (1381234567, "phone_mobile_length"),
        ("138123456789", "phone_mobile_length"),  # 12 digits
        ("138 1234 567", "phone_mobile_length"),
        ("+86 138 1234 567", "phone_mobile_length"),
        ("12812345678", "phone_mobile_prefix"),
        ("10012345678", "phone_mobile_prefix"),
        ("8123456", "phone_area_code"),  # local number without area code
        ("81234567", "phone_area_code"),
        ("9318123456", "phone_area_code"),  # text cell: we do not guess the 0
        ("0931-812345", "phone_landline_length"),
        ("0931-812345678", "phone_landline_length"),
        ("0931", "phone_landline_length"),
        ("0931-0123456", "phone_invalid"),  # local numbers never start with 0/1
        ("010-12345678", "phone_invalid"),
        ("0012345678", "phone_invalid"),
        ("093-18123456", "phone_invalid"),  # 093 is not a 3-digit area code
        ("+1 415 555 0100", "phone_foreign"),
        ("+44 20 7946 0958", "phone_foreign"),
        ("138abcd5678", "phone_invalid"),
        ("13812345678/13987654321", "phone_invalid"),
        ("1381234+5678", "phone_invalid"),
        ("+", "phone_invalid"),
        ("()", "phone_invalid"),
        ("13812345678转123", "phone_invalid"),
        ("无", "phone_invalid"),
    ],
)
def test_normalize_phone_errors(raw, code):
    assert error_code(normalize_phone, raw) == code


def test_normalize_phone_ten_digit_mobile_message():
    with translation.override("en"):
        with pytest.raises(NormalizeError) as info:
            normalize_phone("1381234567")
        assert str(info.value) == "A mobile number has 11 digits."


# --------------------------------------------------------------------------- mask_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "138****5678"),
        ("19912345678", "199****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("12345678901", "123****01"),  # not a mobile: masked as text, never as a number
        ("138123456789", "138****89"),
        ("+86 138 1234 5678", "138****5678"),
        ("0931-8123456", "0931-81****56"),
        ("(0931)81234567", "0931-81****67"),
        ("010-65123456", "010-65****56"),
        ("0931-8123456-123", "0931-81****56-123"),
        ("", ""),
        ("  ", ""),
        ("not a phone", "not****ne"),
        ("123", "***"),
    ],
)
def test_mask_phone(raw, expected):
    assert mask_phone(raw) == expected


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (datetime.date(2024, 3, 5), datetime.date(2024, 3, 5)),
        (datetime.datetime(2024, 3, 5, 14, 30), datetime.date(2024, 3, 5)),
        ("2024-03-05", datetime.date(2024, 3, 5)),
        ("2024-3-5", datetime.date(2024, 3, 5)),
        ("2024/3/5", datetime.date(2024, 3, 5)),
        ("2024/03/05", datetime.date(2024, 3, 5)),
        ("2024.3.5", datetime.date(2024, 3, 5)),
        ("20240305", datetime.date(2024, 3, 5)),
        ("2024年3月5日", datetime.date(2024, 3, 5)),
        ("2024年3月5号", datetime.date(2024, 3, 5)),
        ("2024年03月05日", datetime.date(2024, 3, 5)),
        ("2024 年 3 月 5 日", datetime.date(2024, 3, 5)),
        ("２０２４年３月５日", datetime.date(2024, 3, 5)),
        ("２０２４－０３－０５", datetime.date(2024, 3, 5)),
        (" 2024-03-05 ", datetime.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", datetime.date(2024, 3, 5)),
        ("2024-03-05T08:15", datetime.date(2024, 3, 5)),
        ("2024-02-29", datetime.date(2024, 2, 29)),
        # Excel serial numbers count days from 1899-12-30.
        (45356, datetime.date(2024, 3, 5)),
        (45356.0, datetime.date(2024, 3, 5)),
        (45356.75, datetime.date(2024, 3, 5)),  # time of day is dropped
        (Decimal(45356), datetime.date(2024, 3, 5)),
        (1, datetime.date(1899, 12, 31)),
        (61, datetime.date(1900, 3, 1)),
        (100000, datetime.date(2173, 10, 14)),
        (20240305, datetime.date(2024, 3, 5)),  # yyyymmdd typed as a number
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_parse_date_empty(raw):
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "20241332",
        "2024年2月30日",
        "2024-03/05",  # mixed separators
        "24-3-5",
        "3/5/2024",
        "2024-3",
        "yesterday",
        "2024-03-05 25:00",
        "2024-03-05 12:60",
        "45356",  # a serial number as text is ambiguous
        0,
        -5,
        100001,
        2024030,
        float("nan"),
        float("inf"),
        True,
        "２０２４年",
    ],
)
def test_parse_date_invalid(raw):
    assert error_code(parse_date, raw) == "date_invalid"


# --------------------------------------------------------------------------- gender


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("男", "M"),
        ("女", "F"),
        (" 男 ", "M"),
        ("男性", "M"),
        ("女性", "F"),
        ("M", "M"),
        ("m", "M"),
        ("F", "F"),
        ("f", "F"),
        ("male", "M"),
        ("Male", "M"),
        ("FEMALE", "F"),
        ("Ｍ", "M"),
        ("1", "M"),
        ("2", "F"),
        (1, "M"),
        (2, "F"),
        (1.0, "M"),
        (2.0, "F"),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_normalize_gender(raw, expected):
    assert normalize_gender(raw) == expected


@pytest.mark.parametrize("raw", ["未知", "x", "0", "3", 3, "man", "男女", "MF"])
def test_normalize_gender_invalid(raw):
    assert error_code(normalize_gender, raw) == "gender_invalid"
