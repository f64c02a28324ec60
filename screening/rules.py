"""Who may do what in screening, the result words a lab writes, the resident's code, and the
status graphs (round, retest) as data."""

from typing import Any

from django.core import signing
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from wuyi.lib.cn import to_halfwidth
from wuyi.lib.errors import Refused
from wuyi.lib.graphs import Graph

from .models import Result, RetestStatus, RoundStatus

ORGANISERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF}
KEEPERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY}
SAMPLERS = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.SECRETARY, Role.VOLUNTEER, Role.MEDIC}

MAX_ROUND_DAYS = 7
MAX_QUARANTINE_DAYS = 28
TEMPERATURE_RANGE = (34.0, 43.0)


# Infants (婴幼儿) are exempt from a round: born less than this many years before it starts.
INFANT_YEARS = 3


def infant_cutoff(day: Any) -> Any:
    """The latest birth date of someone old enough to be tested on `day`."""
    try:
        return day.replace(year=day.year - INFANT_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year - INFANT_YEARS, day=28)


def test_day_offsets() -> tuple[int, ...]:
    """The days after the start of a quarantine a test is due (settings, default 1, 4, 7, 14)."""
    from django.conf import settings

    return tuple(getattr(settings, "WUYI_QUARANTINE_TEST_DAYS", (1, 4, 7, 14)))


def may_organise(user: Any) -> bool:
    """Open and close rounds, import results: district and sub-district staff."""
    return active(user) and (user.is_superuser or user.role in ORGANISERS)


def may_keep(user: Any) -> bool:
    """Coverage, exemptions, cases and contacts: staff and the community secretary."""
    return active(user) and (user.is_superuser or user.role in KEEPERS)


def may_sample(user: Any) -> bool:
    """Open tubes and scan people in: anyone working in the compound."""
    return active(user) and (user.is_superuser or user.role in SAMPLERS)


def may_report_health(user: Any) -> bool:
    """A daily health report: the secretary, staff, a volunteer or a medic of the compound."""
    return may_sample(user)


ROUND = Graph(
    "round",
    RoundStatus,
    {RoundStatus.OPEN: {RoundStatus.CLOSED: may_organise}, RoundStatus.CLOSED: {}},
)

# A retest moves by the system's own hand (a scan, a result), checked with by=None.
RETEST = Graph(
    "retest",
    RetestStatus,
    {
        RetestStatus.PENDING: {RetestStatus.SAMPLED: may_sample},
        RetestStatus.SAMPLED: {RetestStatus.NEGATIVE: None, RetestStatus.POSITIVE: None},
        RetestStatus.NEGATIVE: {},
        RetestStatus.POSITIVE: {},
    },
)


# ----------------------------------------------------------------------------- result words

RESULT_WORDS: dict[str, str] = {
    "阴性": Result.NEGATIVE,
    "阴": Result.NEGATIVE,
    "negative": Result.NEGATIVE,
    "neg": Result.NEGATIVE,
    "-": Result.NEGATIVE,
    "阳性": Result.POSITIVE,
    "阳": Result.POSITIVE,
    "positive": Result.POSITIVE,
    "pos": Result.POSITIVE,
    "+": Result.POSITIVE,
    "待复核": Result.REVIEW,
    "复核": Result.REVIEW,
    "可疑": Result.REVIEW,
    "待定": Result.REVIEW,
    "review": Result.REVIEW,
}


def result_of(word: Any) -> str | None:
    """The result a lab's word means, or None when it is not one we know."""
    if word is None:
        return None
    text = to_halfwidth(str(word)).strip().lower()
    return RESULT_WORDS.get(text)


# ----------------------------------------------------------------------------- the code

CODE_SALT = "screening.resident"
MSG_CODE_BAD = _("This is not a resident's code: scan the code on the door card again.")


def resident_code(resident_id: int) -> str:
    """The signed, opaque token a resident shows the sampler (never the ID number)."""
    return signing.dumps(resident_id, salt=CODE_SALT, compress=True)


def resident_from_code(code: str) -> int:
    try:
        value = signing.loads(str(code).strip(), salt=CODE_SALT)
    except signing.BadSignature:
        raise Refused(MSG_CODE_BAD, field="code") from None
    if not isinstance(value, int):
        raise Refused(MSG_CODE_BAD, field="code")
    return value
