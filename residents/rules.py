"""The register's rules, in one home: what a resident record and a household address may hold.

The resident form, the API serializers, the list import, the admin and the services all call
these functions, so that "501a" means the same flat whether it was typed, imported or sent by
the API, and a record is judged as a whole (the ID number, the gender and the birth date agree)
whichever fields one request carries. Value rules with no app of their own (phones, ID numbers,
names, full-width text) live in wuyi.lib.cn; what is the register's own lives here, with who
may keep the register.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any, cast

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from wuyi.lib import cn
from wuyi.lib.cn import NormalizeError
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import Graph

from . import registry
from .models import Category, Gender, Household, ImportJob, Resident

# ----------------------------------------------------------------------------- import jobs

# A job its lease failed (its worker died) starts again from where it stopped: a check from the
# queue, a commit from the claimed state (services.import_job_retry).
IMPORT_RETRY: dict[str, str] = {
    "check": ImportJob.State.QUEUED,
    "commit": ImportJob.State.IMPORTING,
}

# ----------------------------------------------------------------------------- who may


# The register: secretaries keep it; sub-district and district staff read it (masked). The
# medic reads the ledger of their compounds (no export: the patients are theirs to serve,
# not to take away). A volunteer sees residents only through their tasks (the door, the name,
# what to bring, a logged call), never the register: its pages and API answer them 404.
REGISTER_KEEPERS = {"secretary"}
REGISTER_READERS = {"secretary", "subdistrict_staff", "district_staff"}
LEDGER_READERS = REGISTER_READERS | {"medic"}
FULL_PERSONAL_DATA = {"secretary"}


def may_edit_register(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in REGISTER_KEEPERS)


# An import job's life, as data (wuyi/lib/graphs.py). The worker's moves have no mover (None):
# the services make them after their own checks; the keeper's are may_edit_register. Every
# service that moves a job's state checks the move here (services._move_job, _set_job_state),
# and the conditional UPDATE that follows keeps two workers from making the same move twice.
_S = ImportJob.State
IMPORT_JOB = Graph(
    "import job",
    _S,
    {
        _S.QUEUED: {_S.CHECKING: None, _S.FAILED: None},  # the check starts; the lease fails it
        _S.CHECKING: {_S.CHECKED: None, _S.FAILED: None},
        # Words mapped to categories: checked again. The keeper's "import": the commit. A job
        # left waiting past the daily purge (services.import_files_purge) is failed, as any
        # job not ended is.
        _S.CHECKED: {
            _S.QUEUED: may_edit_register,
            _S.IMPORTING: may_edit_register,
            _S.FAILED: None,
        },
        _S.IMPORTING: {_S.DONE: None, _S.FAILED: None},
        # A job its lease failed, started again by the keeper (IMPORT_RETRY).
        _S.FAILED: {_S.QUEUED: may_edit_register, _S.IMPORTING: may_edit_register},
        _S.DONE: {},
    },
    field="state",
)


def may_read_register(user: Any) -> bool:
    """Resident lists, a resident's, household's or building's page, exports, the API."""
    return active(user) and (user.is_superuser or user.role in REGISTER_READERS)


def may_read_ledger(user: Any) -> bool:
    """The vulnerable-person ledger (masked), within the user's compounds."""
    return active(user) and (user.is_superuser or user.role in LEDGER_READERS)


def may_export_register(user: Any) -> bool:
    """A list as a spreadsheet (masked; full values need may_see_full_personal_data too)."""
    return may_read_register(user)


# Those who serve a household at its door call it: the full number is shown for that call
# only, and recorded (residents.services.resident_call).
CALLERS = {"secretary", "volunteer", "medic"}


def may_call(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in CALLERS)


def may_call_resident(user: Any, resident: Resident) -> bool:
    """A secretary or a medic calls the residents in their reach (the register, the ledger); a
    volunteer only the household of a task they hold now (a delivery they carry), as the
    apps that give tasks say (registry.serves_household)."""
    if not may_call(user):
        return False
    if user.is_superuser or user.role in LEDGER_READERS:
        return True
    return registry.serves_household(user, resident.household_id)


# Forms that name a resident (an escort, an emergency, a schedule) search for them by name or
# door (residents.picker): those who fill them in.
PICKERS = {"secretary", "medic"}


def may_pick_residents(user: Any) -> bool:
    return active(user) and (user.is_superuser or user.role in PICKERS)


def may_see_full_personal_data(user: Any) -> bool:
    """Full ID numbers and phones, on an explicit request that is recorded."""
    return active(user) and (user.is_superuser or user.role in FULL_PERSONAL_DATA)


# ----------------------------------------------------------------------------- addresses

MSG_ROOM_INVALID = _("Could not understand the room address; write it like 3-2-501.")
MSG_ROOM_EMPTY = _("The room number is empty.")
MSG_BUILDING_EMPTY = _("The building is empty.")
MSG_ADDRESS_DISAGREES = _(
    "The room “%(room)s” names %(part)s %(named)s, but the %(part)s given is %(given)s."
)
PART_LABELS = {"building": _("building"), "unit": _("unit")}
_PART_CHARS = re.compile(r"[0-9A-Z]+")
# What the household's columns hold, after cleaning ("ß" upper-cases to "SS").
_PART_MAX = {
    "unit": cast(int, Household._meta.get_field("unit").max_length),
    "room": cast(int, Household._meta.get_field("room").max_length),
}
MSG_PART_INVALID = {
    "room": MSG_ROOM_INVALID,
    "unit": _("Write the unit as a number or letters, like 2 or 2单元."),
}
_ADDRESS_HINT = re.compile(r"号楼|#|栋|幢|座|单元|-")
_BUILDING_SUFFIX = re.compile(r"(号楼|#楼|号|栋|幢|座|楼|#)$")
_UNIT_SUFFIX = re.compile(r"单元$")
_ROOM_SUFFIX = re.compile(r"(室|号|房)$")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CN_DIGITS.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})
_CN_NUMBER_RE = re.compile(r"[零〇一二两三四五六七八九十]+(?=号楼|号|栋|幢|座|单元|#)")

_PART = r"[0-9A-Z]+"
_ROOM_DASH_RE = re.compile(rf"({_PART})-({_PART})(?:-({_PART}))?(?:室|号)?")
_ROOM_CN_RE = re.compile(
    rf"(?:(?P<building>{_PART})(?:号楼|#楼|栋|幢|座|#|号(?=.))-?)?"
    rf"(?:(?P<unit>{_PART})单元-?)?"
    rf"(?:(?P<room>{_PART})(?:室|号|房)?)?"
)


def _chinese_to_int(numeral: str) -> int | None:
    """Convert a Chinese numeral between 1 and 99 (一, 十二, 二十, 九十九) to an int."""
    if "十" not in numeral:
        if len(numeral) == 1 and _CN_DIGITS.get(numeral):
            return _CN_DIGITS[numeral]
        return None
    tens_text, _sep, ones_text = numeral.partition("十")
    if len(tens_text) > 1 or len(ones_text) > 1:
        return None
    tens = _CN_DIGITS.get(tens_text) if tens_text else 1
    ones = _CN_DIGITS.get(ones_text) if ones_text else 0
    if not tens or ones is None:
        return None
    return tens * 10 + ones


def _replace_chinese_number(match: re.Match[str]) -> str:
    number = _chinese_to_int(match.group(0))
    return str(number) if number is not None else match.group(0)


def _strip_zeros(part: str | None) -> str | None:
    if part is None:
        return None
    return str(int(part)) if part.isdigit() else part


def _compact(value: Any) -> str:
    """A cell or field as one upper-case token: Excel's numbers recovered, full-width made
    half-width, spaces removed, dashes made plain, Chinese numerals before 号楼/单元 made digits."""
    text = re.sub(r"\s+", "", cn.excel_number_text(value)).upper()
    text = re.sub(r"[\u2010\u2011\u2012\u2013\u2014\u2212_]", "-", text)
    return _CN_NUMBER_RE.sub(_replace_chinese_number, text)


def parse_room(value: Any) -> tuple[str | None, str | None, str | None]:
    """Split a room address into ``(building, unit, room)`` strings (missing parts are None).

    "3号楼2单元501", "3栋2单元501室", "3-2-501" -> ("3", "2", "501"); "3号楼501" ->
    ("3", None, "501"); "501" -> (None, None, "501"); "三号楼" -> ("3", None, None).
    """
    text = _compact(value)
    if not text:
        return None, None, None

    match = _ROOM_DASH_RE.fullmatch(text)
    if match:
        first, second, third = match.groups()
        if third is None:
            return _strip_zeros(first), None, second
        return _strip_zeros(first), _strip_zeros(second), third
    match = _ROOM_CN_RE.fullmatch(text)
    if match and any(match.groups()):
        return (
            _strip_zeros(match.group("building")),
            _strip_zeros(match.group("unit")),
            match.group("room"),
        )
    raise NormalizeError(MSG_ROOM_INVALID, code="room_invalid", field="room")


def _numbered(text: str, suffix: re.Pattern[str]) -> str:
    text = suffix.sub("", text)
    return _strip_zeros(text) or ""


def clean_building(value: Any) -> str:
    """'3', '3号楼', '03栋', '三号楼' -> '3'."""
    return _numbered(_compact(value), _BUILDING_SUFFIX)


def clean_unit(value: Any) -> str:
    """'2', '2单元', '02', '二单元' -> '2'; '' when there is no unit."""
    return _numbered(_compact(value), _UNIT_SUFFIX)


def clean_room(value: Any) -> str:
    """'501', '501室', '５０１', '501a' -> '501' / '501A' (the room alone, no building)."""
    return _ROOM_SUFFIX.sub("", _compact(value))


@dataclass(frozen=True, slots=True)
class Address:
    building: str
    unit: str
    room: str
    compound: str = ""  # a compound's name written before the building, if any


# "云祥小区5号楼3单元601": the name before the building number (digits or Chinese numerals).
_COMPOUND_PREFIX = re.compile(
    r"^(?P<name>.*?[^0-9A-Z#\-])"
    r"(?=[0-9一二三四五六七八九十两]+(?:号楼|号|栋|幢|座|#)|[0-9A-Z]+-[0-9A-Z]+(?:-[0-9A-Z]+)?$)"
)


def split_compound(text: str) -> tuple[str, str]:
    """("云祥小区", "5号楼3单元601") from "云祥小区5号楼3单元601"; ("", text) without a name."""
    match = _COMPOUND_PREFIX.match(text)
    if not match or not match["name"].strip("-"):
        return "", text
    return match["name"], text[match.end() :]


def clean_address(building: Any = "", unit: Any = "", room: Any = "") -> Address:
    """The household address as the register stores it, from what a person or a list gives.

    The room may carry the whole address ("3-2-501", "3号楼2单元501室"), even after the
    compound's name ("云祥小区5号楼3单元601"): the parts it names fill the empty building and
    unit, and must agree with the ones given; the name is returned for the caller to match.
    Raises NormalizeError (field building, unit or room) for an empty room or building, or
    parts that disagree.
    """
    b, u, r = clean_building(building), clean_unit(unit), _compact(room)
    compound, r = split_compound(r)
    if r and _ADDRESS_HINT.search(r):
        named_b, named_u, named_r = parse_room(r)
        for part, named, given in (("building", named_b, b), ("unit", named_u, u)):
            if named and given and named != given:
                raise NormalizeError(
                    MSG_ADDRESS_DISAGREES
                    % {"room": r, "part": PART_LABELS[part], "named": named, "given": given},
                    code="address_disagrees",
                    field="room",
                )
        b, u, r = b or named_b or "", u or named_u or "", named_r or ""
    r = _ROOM_SUFFIX.sub("", r)
    if not r:
        raise NormalizeError(MSG_ROOM_EMPTY, code="room_empty", field="room")
    for part, value in (("room", r), ("unit", u)):
        if value and (not _PART_CHARS.fullmatch(value) or len(value) > _PART_MAX[part]):
            raise NormalizeError(MSG_PART_INVALID[part], code=f"{part}_invalid", field=part)
    if not b:
        raise NormalizeError(MSG_BUILDING_EMPTY, code="building_empty", field="building")
    return Address(b, u, r, compound)


MSG_ROOM_FLOOR = _(
    "Building %(building)s has %(floors)d floors; room %(room)s would be on floor %(floor)d."
)


def room_floor(room: str) -> int | None:
    """The floor a room number says: 1201 and 1201A are on floor 12, 501 on 5; None for rooms
    that are not numbered so (A1, 12)."""
    digits = re.match(r"\d+", room)
    if digits is None or len(digits[0]) < 3:
        return None
    return int(digits[0][:-2])


def check_room_floor(room: str, *, building: str, floors: int) -> None:
    """Refuse a room above the building's top floor (99901 in a 7-floor building)."""
    floor = room_floor(room)
    if floor is not None and floors and floor > floors:
        raise NormalizeError(
            MSG_ROOM_FLOOR % {"building": building, "floors": floors, "room": room, "floor": floor},
            code="room_floor",
            field="room",
        )


# ----------------------------------------------------------------------------- categories

# The words committees write for the ledger's categories, synonyms and abbreviations included.
# A word a community uses otherwise is mapped once on the import preview and remembered
# (CategoryMapping); a word followed by brackets keeps what they say as the line's details.
CATEGORY_WORDS: dict[str, str] = {
    **dict.fromkeys(("独居老人", "空巢老人", "独居", "空巢", "孤寡老人"), Category.ELDERLY_ALONE),
    **dict.fromkeys(("老人", "老年人", "高龄", "高龄老人", "80岁以上"), Category.ELDERLY),
    **dict.fromkeys(
        ("孕妇", "孕产妇", "产妇", "孕期", "哺乳期", "待产", "怀孕"), Category.PREGNANT
    ),
    **dict.fromkeys(("婴幼儿", "婴儿", "幼儿", "新生儿"), Category.INFANT),
    **dict.fromkeys(
        ("残疾人", "残疾", "残障", "肢体残疾", "视力残疾", "听力残疾", "智力残疾", "精神残疾"),
        Category.DISABLED,
    ),
    **dict.fromkeys(
        (
            "慢性病",
            "慢病",
            "基础病",
            "基础疾病",
            "透析",
            "透析患者",
            "血透",
            "血液透析",
            "腹透",
            "化疗",
            "放疗",
            "肿瘤",
            "癌症",
            "糖尿病",
            "高血压",
            "心脏病",
            "尿毒症",
        ),
        Category.CHRONIC,
    ),
    **dict.fromkeys(("卧床", "长期卧床", "失能", "半失能", "瘫痪"), Category.BEDRIDDEN),
    "其他": Category.OTHER,
}
for _value, _label in Category.choices:
    CATEGORY_WORDS.setdefault(_value, _value)
    CATEGORY_WORDS.setdefault(str(_label), _value)
# Treatments a word names: the ledger line keeps it (the escort app books by it).
TREATMENT_WORDS = {
    "透析": "透析",
    "透析患者": "透析",
    "血透": "透析",
    "血液透析": "透析",
    "腹透": "腹透",
    "化疗": "化疗",
    "放疗": "放疗",
}
# Words that name the illness itself: kept as the line's detail.
ILLNESS_WORDS = {"肿瘤", "癌症", "糖尿病", "高血压", "心脏病", "尿毒症"}
ALLOWED_WORDS = "独居老人、高龄、孕产妇、婴幼儿、残疾人、慢性病、透析、卧床、其他"
MSG_CATEGORY_UNKNOWN = _("Unknown category “%(words)s”. Use: %(allowed)s.")
_CATEGORY_TOKEN = re.compile(
    r"(?P<word>[^、,，;；/\s(（)）]+)\s*(?:[(（](?P<detail>[^)）]*)[)）])?"
)


@dataclass(frozen=True)
class Categories:
    categories: tuple[str, ...] = ()
    treatment: str = ""
    details: dict[str, str] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()


def parse_categories(text: str, *, mappings: dict[str, str] | None = None) -> Categories:
    """ "残疾(肢体)、血透" -> disabled (details 肢体), chronic (treatment 透析). Words neither
    known nor mapped by the community are returned in `unknown`."""
    found: list[str] = []
    details: dict[str, str] = {}
    unknown: list[str] = []
    treatment = ""
    for match in _CATEGORY_TOKEN.finditer(text or ""):
        word, detail = match["word"], (match["detail"] or "").strip()
        category = (mappings or {}).get(word) or CATEGORY_WORDS.get(word)
        if category is None:
            if word not in unknown:
                unknown.append(word)
            continue
        treatment = treatment or TREATMENT_WORDS.get(word, "")
        if (
            category == Category.CHRONIC
            and word not in CATEGORY_WORDS.get("慢性病", "")
            and (
                word not in ("慢性病", "慢病", "基础病", "基础疾病") and word not in TREATMENT_WORDS
            )
        ):
            detail = detail or word  # "糖尿病": the illness is the detail
        if detail:
            details[category] = "、".join(filter(None, (details.get(category), detail)))
        if category not in found:
            found.append(category)
    return Categories(tuple(found), treatment, details, tuple(unknown))


# ----------------------------------------------------------------------------- a resident

# CharFields: their max_length is set.
RELATION_MAX = cast(int, Resident._meta.get_field("relation").max_length)
HOUSEHOLD_NOTES_MAX = cast(int, Household._meta.get_field("notes").max_length)
NOTES_MAX = cast(int, Resident._meta.get_field("notes").max_length)
EARLIEST_BIRTH = datetime.date(1880, 1, 1)

MSG_GENDER_MISMATCH = _("The gender does not match the ID number.")
# Said the same whether the number is registered in this community or another: a message
# that told them apart would confirm where a person lives.
MSG_ID_TAKEN = _(
    "This ID number cannot be registered: it is already on the register. If the person "
    "lives in your community, ask the sub-district to check it."
)
MSG_BIRTH_MISMATCH = _("The birth date does not match the ID number (%(date)s).")
MSG_BIRTH_FUTURE = _("The birth date is in the future.")
MSG_BIRTH_PAST = _("The birth date is before 1880.")
MSG_GENDER_CHOICE = _("Gender must be male or female.")


def _date(value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return cn.parse_date(value)


def clean_relation(value: Any) -> str:
    return cn.clean_text(value, max_length=RELATION_MAX, field="relation")


def clean_notes(value: Any) -> str:
    """Notes are one line: line breaks and tabs become spaces, as a list's cells are read."""
    return cn.clean_text(value, max_length=NOTES_MAX, field="notes")


def clean_birth_date(value: Any) -> datetime.date | None:
    """A birth date as typed or imported: a date, not in the future, not before 1880."""
    born = _date(value)
    if born is not None:
        if born > timezone.localdate():
            raise NormalizeError(MSG_BIRTH_FUTURE, code="birth_future", field="birth_date")
        if born < EARLIEST_BIRTH:
            raise NormalizeError(MSG_BIRTH_PAST, code="birth_past", field="birth_date")
    return born


def check_resident(record: dict[str, Any], *, national_id: str = "") -> dict[str, Any]:
    """A resident record judged as a whole; the cleaned record, or Refused naming every field
    at fault.

    `record` holds the register fields (Resident.RECORD_FIELDS) as they will stand after the
    change: the stored values with the request's on top. `national_id` is the normalised ID
    number the resident will have ('' for none). With an ID number the gender and the birth
    date are read off it; a different one given is refused, not silently replaced.
    """
    errors: dict[str, Any] = {}
    out = dict(record)

    def check(field: str, func, *args, **kwargs) -> None:
        try:
            out[field] = func(*args, **kwargs)
        except NormalizeError as exc:
            errors[field] = exc.message

    check("name", cn.clean_name, record.get("name"))
    check("phone", cn.normalize_phone, record.get("phone") or "")
    check("relation", clean_relation, record.get("relation"))
    check("notes", clean_notes, record.get("notes"))

    gender = record.get("gender") or ""
    if gender not in Gender.values and gender != "":
        errors["gender"] = MSG_GENDER_CHOICE
    try:
        birth = _date(record.get("birth_date"))
    except NormalizeError as exc:
        errors["birth_date"], birth = exc.message, None
    if national_id:
        id_gender = cn.gender_from_id(national_id)
        id_birth = cn.birth_date_from_id(national_id)
        if gender and gender != id_gender:
            errors["gender"] = MSG_GENDER_MISMATCH
        if birth and birth != id_birth:
            errors["birth_date"] = MSG_BIRTH_MISMATCH % {"date": id_birth.isoformat()}
        gender, birth = id_gender, id_birth
    elif birth is not None and "birth_date" not in errors:
        try:
            clean_birth_date(birth)
        except NormalizeError as exc:
            errors["birth_date"] = exc.message
    out["gender"], out["birth_date"] = gender, birth

    if errors:
        raise Refused.of_fields(errors)
    return out
