"""Chinese value rules that belong to no app: text, national ID numbers, phones, dates, names.

Pure functions: nothing here touches the database. Every invalid value raises
:class:`NormalizeError` (a :class:`~wuyi.lib.errors.Refused`), whose ``message`` is a lazily
translated string and whose ``code`` is a stable identifier for callers and tests. The register,
the volunteer list, messaging and the testing-result import all clean and mask through here, so
a phone number or an ID number means the same thing everywhere.
"""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import Refused

__all__ = [
    "NormalizeError",
    "birth_date_from_id",
    "clean_name",
    "clean_text",
    "excel_number_text",
    "gender_from_id",
    "id_check_char",
    "mask_national_id",
    "mask_phone",
    "normalize_gender",
    "normalize_national_id",
    "normalize_phone",
    "parse_date",
    "to_halfwidth",
]


class NormalizeError(Refused, ValueError):
    """A value could not be understood. ``message`` is lazy; ``code`` is stable."""

    code = "invalid"

    def __init__(self, message: Any, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


# --------------------------------------------------------------------------- text basics

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_TRANSLATE = {**_FULLWIDTH, **_ZERO_WIDTH}


def to_halfwidth(s: str) -> str:
    """Convert full-width ASCII to half-width, drop zero-width chars, strip and collapse spaces."""
    if not s:
        return ""
    return " ".join(str(s).translate(_TRANSLATE).split())


_NUMBER_TEXT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _decimal_to_text(d: Decimal) -> str | None:
    """Return ``d`` as an integer string if it is integral (and sane), else ``None``."""
    if not d.is_finite() or abs(d.adjusted()) > 50:
        return None
    if d != d.to_integral_value():
        return None
    return str(int(d))


def _excel_text(value: Any) -> tuple[str, bool]:
    """Like :func:`excel_number_text`, also telling whether the value went through a number.

    The flag is true for int/float/Decimal cells and for strings written in decimal or
    scientific notation ("1.38E+10", "13812345678.0") — i.e. when leading zeros or trailing
    digits may have been lost by Excel.
    """
    if value is None:
        return "", False
    if isinstance(value, bool):
        return to_halfwidth(str(value)), False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value), True
        # repr() is the shortest round-trip form, so it keeps the digits Excel showed.
        text = _decimal_to_text(Decimal(repr(value)))
        return (text if text is not None else repr(value)), True
    if isinstance(value, Decimal):
        text = _decimal_to_text(value)
        return (text if text is not None else str(value)), True
    text = to_halfwidth(str(value))
    if _NUMBER_TEXT_RE.fullmatch(text) and ("." in text or "e" in text.lower()):
        try:
            converted = _decimal_to_text(Decimal(text))
        except InvalidOperation:  # pragma: no cover - regex already guarantees a number
            converted = None
        if converted is not None:
            return converted, True
    return text, False


def excel_number_text(value: Any) -> str:
    """Recover the digits of a cell that Excel stored as a number.

    ``13812345678.0`` / ``"1.3812345678E10"`` / ``"13812345678.0"`` -> ``"13812345678"``.
    Non-integral numbers and other strings come back half-width and stripped; ``None`` -> "".
    """
    return _excel_text(value)[0]


# --------------------------------------------------------------------------- national ID

ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_MIN_YEAR = 1880
_ID15_RE = re.compile(r"\d{15}", re.ASCII)
_ID18_RE = re.compile(r"\d{17}[\dX]", re.ASCII)
_SEPARATORS_RE = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2212]+")

MSG_ID_LENGTH = _("An ID number must have 18 characters (15 digits for old IDs).")
MSG_ID_CHARS = _("An ID number may contain only digits, with an X allowed as the last character.")
MSG_ID_BIRTH_DATE = _("The birth date inside the ID number is not a valid date.")
MSG_ID_CHECK_DIGIT = _("The ID number's check digit is wrong.")
MSG_ID_LOST_DIGITS = _(
    "The ID number was stored as a number in Excel and lost digits. "
    "Format the column as text and enter the number again."
)
MSG_ID_EMPTY = _("The ID number is empty.")


def id_check_char(body17: str) -> str:
    """Return the GB 11643-1999 check character for a 17-digit ID body."""
    total = sum(int(digit) * weight for digit, weight in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def _id_birth_date(yyyymmdd: str, today: datetime.date) -> datetime.date:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise NormalizeError(MSG_ID_BIRTH_DATE, code="id_birth_date") from None
    if born.year < _ID_MIN_YEAR or born > today:
        raise NormalizeError(MSG_ID_BIRTH_DATE, code="id_birth_date")
    return born


def _validate_id(text: str, today: datetime.date) -> str:
    if len(text) not in (15, 18):
        raise NormalizeError(MSG_ID_LENGTH, code="id_length")
    if len(text) == 15:
        if not _ID15_RE.fullmatch(text):
            raise NormalizeError(MSG_ID_CHARS, code="id_chars")
        _id_birth_date("19" + text[6:12], today)
        body = text[:6] + "19" + text[6:]
        return body + id_check_char(body)
    if not _ID18_RE.fullmatch(text):
        raise NormalizeError(MSG_ID_CHARS, code="id_chars")
    _id_birth_date(text[6:14], today)
    if id_check_char(text[:17]) != text[17]:
        raise NormalizeError(MSG_ID_CHECK_DIGIT, code="id_check_digit")
    return text


def normalize_national_id(value: Any, *, today: datetime.date | None = None) -> str:
    """Validate a mainland resident ID (GB 11643-1999) and return its 18-character form.

    Accepts 18-character IDs (lower-case ``x`` allowed) and 15-digit legacy IDs, which are
    upgraded. Spaces and hyphens are ignored. Empty input returns ``""`` (the ID is optional).
    ``today`` (defaults to today in Asia/Shanghai) bounds the embedded birth date.
    """
    text, from_number = _excel_text(value)
    text = _SEPARATORS_RE.sub("", text).upper()
    if not text:
        return ""
    if today is None:
        today = timezone.localdate()
    try:
        return _validate_id(text, today)
    except NormalizeError:
        # Excel keeps 15 significant digits: an 18-digit ID typed as a number is mangled.
        if from_number and len(text) != 15:
            raise NormalizeError(MSG_ID_LOST_DIGITS, code="id_lost_digits") from None
        raise


def _required_id(id18: str) -> str:
    normalized = normalize_national_id(id18)
    if not normalized:
        raise NormalizeError(MSG_ID_EMPTY, code="id_empty")
    return normalized


def birth_date_from_id(id18: str) -> datetime.date:
    """Return the birth date embedded in a (validated) resident ID."""
    normalized = _required_id(id18)
    return datetime.date(int(normalized[6:10]), int(normalized[10:12]), int(normalized[12:14]))


def gender_from_id(id18: str) -> str:
    """Return ``"M"`` or ``"F"`` from a resident ID (odd 17th digit means male)."""
    return "M" if int(_required_id(id18)[16]) % 2 else "F"


def mask_national_id(id18: str) -> str:
    """Mask an ID for display: only the last 4 characters show, ``**************9376``.

    The area code and the birth date stay hidden: with the age a masked page shows (never the
    birth date), at least the month and day (4 digits) and usually the area remain unknown, so
    no mask can be combined with what else a role sees to rebuild the number. Empty -> ``""``.
    """
    text = _SEPARATORS_RE.sub("", to_halfwidth(id18 or "")).upper()
    if not text:
        return ""
    if len(text) <= 8:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def mask_id_last4(last4: str) -> str:
    """The mask of an 18-character ID number from its stored last four (no decryption)."""
    return "*" * 14 + last4 if last4 else ""


# --------------------------------------------------------------------------- phone numbers

MSG_PHONE_INVALID = _("This is not a valid phone number.")
MSG_PHONE_MOBILE_LENGTH = _("A mobile number has 11 digits.")
MSG_PHONE_MOBILE_PREFIX = _("A mobile number must start with 13 to 19.")
MSG_PHONE_AREA_CODE = _("A landline number must start with its area code, e.g. 0931-8123456.")
MSG_PHONE_LANDLINE_LENGTH = _("A landline number has 7 or 8 digits after the area code.")
MSG_PHONE_FOREIGN = _("Only mainland China phone numbers are supported.")

_PHONE_EXT_RE = re.compile(r"\s*(?:转|轉|分机|分機|ext\.?|x)\s*(\d{1,6})$", re.IGNORECASE)
_PHONE_SPLIT_RE = re.compile(r"[\s\-()\u2010\u2011\u2012\u2013\u2014\u2212]+")
_PHONE_TOKEN_RE = re.compile(r"\+?\d+", re.ASCII)


def _drop_leading_digits(tokens: list[str], count: int) -> list[str]:
    """Remove ``count`` leading digits from a list of digit groups."""
    result = list(tokens)
    while count and result:
        head = result[0]
        if len(head) <= count:
            count -= len(head)
            result.pop(0)
        else:
            result[0] = head[count:]
            count = 0
    return result


def _mobile(digits: str, ext: str | None) -> str:
    if ext is not None:
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
    if len(digits) != 11:
        raise NormalizeError(MSG_PHONE_MOBILE_LENGTH, code="phone_mobile_length")
    if digits[1] not in "3456789":
        raise NormalizeError(MSG_PHONE_MOBILE_PREFIX, code="phone_mobile_prefix")
    return digits


def _landline(tokens: list[str], ext: str | None) -> str:
    """Format digit groups that start with an area code as ``"0931-8123456[-ext]"``."""
    joined = "".join(tokens)
    if joined.startswith("00"):
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
    area_len = 3 if joined.startswith(("010", "02")) else 4
    if len(tokens[0]) < area_len:
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
    area = tokens[0][:area_len]
    rest = ([tokens[0][area_len:]] if len(tokens[0]) > area_len else []) + tokens[1:]
    if ext is None and len(rest) == 2 and len(rest[0]) in (7, 8) and len(rest[1]) <= 6:
        number, ext = rest
    else:
        number = "".join(rest)
    if len(number) not in (7, 8):
        raise NormalizeError(MSG_PHONE_LANDLINE_LENGTH, code="phone_landline_length")
    if number[0] in "01":
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
    return f"{area}-{number}" + (f"-{ext}" if ext else "")


def normalize_phone(value: Any) -> str:
    """Normalise a mainland phone number.

    Mobiles become 11 digits (``+86``/``0086``/``86`` prefixes removed). Landlines become
    ``"0931-8123456"`` (area code, hyphen, number, optional ``-ext``); area codes 010 and
    020-029 have 3 digits, all others 4. Empty input returns ``""``.
    """
    text, from_number = _excel_text(value)
    if not text:
        return ""
    ext: str | None = None
    match = _PHONE_EXT_RE.search(text)
    if match:
        ext = match.group(1)
        text = text[: match.start()]
    tokens = [token for token in _PHONE_SPLIT_RE.split(text) if token]
    if not tokens or not all(_PHONE_TOKEN_RE.fullmatch(t) for t in tokens):
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
    if any("+" in t for t in tokens[1:]):
        raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")

    international = tokens[0].startswith("+")
    tokens[0] = tokens[0].lstrip("+")
    tokens = [t for t in tokens if t]
    joined = "".join(tokens)
    if international or joined.startswith("0086"):
        prefix = "86" if international else "0086"
        if not joined.startswith(prefix):
            raise NormalizeError(MSG_PHONE_FOREIGN, code="phone_foreign")
        tokens = _drop_leading_digits(tokens, len(prefix))
        if not tokens:
            raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
        if not re.match(r"1[3-9]", "".join(tokens)):
            # "+86 931 8123456", "+86 10 65123456", "+86 (0)931 ...": the area code lost its 0.
            if tokens[0] == "0":
                tokens = tokens[1:]
            if not tokens:
                raise NormalizeError(MSG_PHONE_INVALID, code="phone_invalid")
            tokens[0] = "0" + tokens[0].lstrip("0")
        joined = "".join(tokens)
    elif re.fullmatch(r"861[3-9]\d{9}", joined):
        return _mobile(joined[2:], ext)
    elif from_number and joined[:1] in set("23456789"):
        # A landline stored as a number in Excel lost its leading 0.
        tokens[0] = "0" + tokens[0]
        joined = "".join(tokens)

    if joined.startswith("1"):
        return _mobile(joined, ext)
    if not joined.startswith("0"):
        raise NormalizeError(MSG_PHONE_AREA_CODE, code="phone_area_code")
    return _landline(tokens, ext)


_STORED_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")


def mask_phone(p: str) -> str:
    """Mask a phone for display: ``"138****5678"`` / ``"0931-81****56"``; empty -> ``""``."""
    if p and _STORED_MOBILE_RE.fullmatch(p):  # as the register stores it: not read again
        return p[:3] + "****" + p[-4:]
    if not p or not to_halfwidth(p):
        return ""
    try:
        phone = normalize_phone(p)
    except NormalizeError:
        text = to_halfwidth(p)
        return text[:3] + "****" + text[-2:] if len(text) > 5 else "*" * len(text)
    if "-" not in phone:
        return phone[:3] + "****" + phone[-4:]
    area, number, *ext = phone.split("-")
    return "-".join([area, number[:2] + "****" + number[-2:], *ext])


# --------------------------------------------------------------------------- dates

MSG_DATE_INVALID = _("Enter a valid date, e.g. 2024-03-05.")

_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_TIME_SUFFIX = r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?"
_DATE_SEP_RE = re.compile(
    r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})" + _TIME_SUFFIX, re.ASCII
)
_DATE_CN_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?", re.ASCII)
_DATE_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)


def _make_date(year: str, month: str, day: str) -> datetime.date:
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise NormalizeError(MSG_DATE_INVALID, code="date_invalid") from None


def parse_date(value: Any) -> datetime.date | None:
    """Parse a date cell; empty -> ``None``.

    Accepts date/datetime objects, Excel serial numbers (1..100000, counted from 1899-12-30)
    and strings like "2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日".
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise NormalizeError(MSG_DATE_INVALID, code="date_invalid")
    if isinstance(value, (int, float, Decimal)):
        try:
            serial = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:  # pragma: no cover - defensive
            raise NormalizeError(MSG_DATE_INVALID, code="date_invalid") from None
        if serial.is_finite() and 1 <= serial <= 100000:
            return _EXCEL_EPOCH + datetime.timedelta(days=int(serial))
        text = excel_number_text(value)  # e.g. 20240305 typed as a number
        match = _DATE_COMPACT_RE.fullmatch(text)
        if match:
            return _make_date(*match.groups())
        raise NormalizeError(MSG_DATE_INVALID, code="date_invalid")

    text = to_halfwidth(str(value))
    if not text:
        return None
    for pattern in (_DATE_SEP_RE, _DATE_CN_RE, _DATE_COMPACT_RE):
        match = pattern.fullmatch(text)
        if match:
            groups = match.groups()
            if pattern is _DATE_SEP_RE:
                groups = (groups[0], groups[2], groups[3])
            return _make_date(*groups)
    raise NormalizeError(MSG_DATE_INVALID, code="date_invalid")


# --------------------------------------------------------------------------- gender

MSG_GENDER_INVALID = _("Gender must be male or female.")

_GENDERS = {
    "男": "M",
    "男性": "M",
    "m": "M",
    "male": "M",
    "1": "M",
    "女": "F",
    "女性": "F",
    "f": "F",
    "female": "F",
    "2": "F",
}


def normalize_gender(value: Any) -> str | None:
    """Return ``"M"``/``"F"`` for 男/女, M/F, male/female, 1/2; empty -> ``None``."""
    text = excel_number_text(value).lower()
    if not text:
        return None
    try:
        return _GENDERS[text]
    except KeyError:
        raise NormalizeError(MSG_GENDER_INVALID, code="gender_invalid") from None


# --------------------------------------------------------------------------- names and text

NAME_MAX_LENGTH = 50
MSG_NAME_EMPTY = _("The name is empty.")
MSG_NAME_LONG = _("The name is too long.")
MSG_NAME_SYMBOLS = _("The name contains symbols such as < > that a name cannot have.")
MSG_CONTROL_CHARS = _("The text contains control characters; type it again.")
MSG_TEXT_LONG = _("The text is too long: at most %(max)d characters.")

# Characters no name has: markup, formula and shell symbols, control characters.
_BAD_NAME = re.compile(r"[<>{}\[\]\\\"`=|\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[\s\u3000]+")
# Control characters a stored text may not hold (a spreadsheet export refuses them): C0 except
# tab and line breaks, DEL and C1. Single-line fields refuse tab and line breaks too.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def free_text(value: Any) -> str:
    """A cell or field as typed: zero-width characters dropped, runs of white space collapsed
    to one space, trimmed; Chinese punctuation kept as written."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", str(value).translate(_ZERO_WIDTH)).strip()


def clean_name(value: Any, *, max_length: int = NAME_MAX_LENGTH) -> str:
    """A person's name: trimmed, not empty, not too long, no symbols a name cannot have."""
    name = free_text(value)
    if not name:
        raise NormalizeError(MSG_NAME_EMPTY, code="name_empty", field="name")
    if len(name) > max_length:
        raise NormalizeError(MSG_NAME_LONG, code="name_long", field="name")
    if _BAD_NAME.search(name):
        raise NormalizeError(MSG_NAME_SYMBOLS, code="name_symbols", field="name")
    return name


def clean_text(
    value: Any, *, max_length: int, multiline: bool = False, field: str | None = None
) -> str:
    """Free text for storage: trimmed, within `max_length`, no control characters (a
    multi-line text keeps its tabs and line breaks, with Windows line ends made plain)."""
    if value is None:
        return ""
    text = str(value).translate(_ZERO_WIDTH)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        bad = _CONTROL_MULTILINE
    else:
        text = _SPACES.sub(" ", text).strip()  # tabs and line breaks become spaces
        bad = _CONTROL
    if bad.search(text):
        raise NormalizeError(MSG_CONTROL_CHARS, code="control_chars", field=field)
    if len(text) > max_length:
        raise NormalizeError(MSG_TEXT_LONG % {"max": max_length}, code="text_long", field=field)
    return text


MOBILE_RE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)


def is_mobile(phone: str) -> bool:
    """A normalised phone (normalize_phone) that takes SMS: registers keep landlines too."""
    return bool(MOBILE_RE.fullmatch(phone or ""))
