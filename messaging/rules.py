"""Who may send SMS and read what went out, and the rules of a message: its variables, its
length and cost, quiet hours, the numbers it may go to."""

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import active
from accounts.models import Role
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from .models import Allowance, SmsTemplate
from .registry import system_template_names

# ----------------------------------------------------------------------------- who may

COMPOSERS = {Role.SECRETARY}
READERS = {Role.SECRETARY, Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF}
STAFF = {Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF}


def may_compose(user: Any) -> bool:
    """Compose, schedule and cancel campaigns, keep the opt-out list: the community secretary."""
    return active(user) and (user.is_superuser or user.role in COMPOSERS)


def may_read(user: Any) -> bool:
    """See campaigns and their results (masked numbers)."""
    return active(user) and (user.is_superuser or user.role in READERS)


def may_see_daily(user: Any) -> bool:
    """SMS sent per community per day."""
    return active(user) and (user.is_superuser or user.role in STAFF)


def may_set_budget(user: Any) -> bool:
    """See and set the communities' monthly SMS budgets (those they see): district staff."""
    return active(user) and (user.is_superuser or user.role == Role.DISTRICT_STAFF)


# ----------------------------------------------------------------------------- budgets

# The one home of a line's default: what a community may spend a month on it until district
# staff set an amount (the settings name each; README lists them).
BUDGET_DEFAULT_SETTING: dict[str, str] = {
    Allowance.CAMPAIGN: "WUYI_SMS_DEFAULT_MONTHLY_BUDGET",
    Allowance.SYSTEM: "WUYI_SMS_SYSTEM_MONTHLY_BUDGET",
    Allowance.PUBLIC: "WUYI_SMS_PUBLIC_MONTHLY_BUDGET",
}
BUDGET_MAX = Decimal("99999999.99")  # what Budget's columns hold (10 digits, 2 decimals)
MSG_BUDGET_NEGATIVE = _("A budget cannot be negative.")
MSG_BUDGET_LARGE = _("At most %(max)s yuan.")
MSG_BUDGET_CENTS = _("Write the amount in yuan with at most two decimals, e.g. 1000 or 1000.50.")
MSG_BUDGET_MISSING = _("Enter the monthly budget in yuan.")


def budget_default(line: str) -> Decimal:
    """A community's monthly amount on budget line `line` (Allowance) until one is set."""
    return Decimal(getattr(settings, BUDGET_DEFAULT_SETTING[line]))


def clean_budget_amount(value: Any, *, field: str, required: bool = True) -> Decimal | None:
    """A monthly amount as typed or sent: yuan, not negative, at most two decimals and what the
    column holds. Empty: None (the default applies) unless `required`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(MSG_BUDGET_MISSING, field=field)
        return None
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise Refused(MSG_BUDGET_CENTS, field=field) from None
    if not amount.is_finite():
        raise Refused(MSG_BUDGET_CENTS, field=field)
    if amount < 0:
        raise Refused(MSG_BUDGET_NEGATIVE, field=field)
    if amount > BUDGET_MAX:
        raise Refused(MSG_BUDGET_LARGE % {"max": f"{BUDGET_MAX:,}"}, field=field)
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        raise Refused(MSG_BUDGET_CENTS, field=field)
    return amount


# ----------------------------------------------------------------------------- variables

VALUE_MAX = 35  # Aliyun's limit for one variable's value (Tencent's is lower for some types)


def fit_value(value: Any) -> str:
    """A name or a place as long as a provider takes (cut, not refused; empty: a dash)."""
    text = str(value) if value not in (None, "") else "—"
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


MSG_NOT_APPROVED = _("This template is not approved by the SMS provider yet: it cannot be sent.")
MSG_MISSING = _("Fill in “%(name)s”.")
MSG_EXTRA = _("The template has no variable “%(name)s”.")
MSG_VALUE_LONG = _("At most %(max)d characters.")
MSG_VALUE_TYPE = _("Write the value as text.")


MSG_SYSTEM_TEMPLATE = _(
    "This template is for the messages the app sends itself (codes, links, reminders): choose "
    "another for a campaign."
)

# What the usual variables of a template mean, for the compose form's labels and messages (an
# unknown variable is shown by its name).
VARIABLE_LABELS: dict[str, Any] = {
    "gate": _("Gate or testing point"),
    "round": _("Testing round"),
    "date": _("Date"),
    "time": _("Time"),
    "place": _("Place"),
    "goods": _("Goods"),
    "name": _("Name"),
    "compound": _("Compound"),
    "building": _("Building"),
    "phone": _("Phone"),
    "order": _("Order"),
    "code": _("Code"),
    "link": _("Link"),
    "area": _("Area"),
    "hospital": _("Hospital"),
    "count": _("Number"),
}


def variable_label(name: str) -> str:
    return str(VARIABLE_LABELS.get(name, name))


def check_template(template: SmsTemplate) -> None:
    if not template.approved:
        raise Refused(MSG_NOT_APPROVED, field="template", code="not_approved")


def check_campaign_template(template: SmsTemplate) -> None:
    """A campaign sends an approved text that is not one of the app's own."""
    if template.name in system_template_names():
        raise Refused(MSG_SYSTEM_TEMPLATE, field="template", code="system_template")
    check_template(template)


def clean_variables(
    template: SmsTemplate, given: Mapping[str, Any], *, provided: Iterable[str] = ()
) -> dict[str, str]:
    """The message's variables: exactly those of the template that the audience does not give
    per recipient, each a short line of text. Refused names every variable at fault."""
    expected = [name for name in template.variables if name not in set(provided)]
    errors: dict[str, Any] = {}
    cleaned: dict[str, str] = {}
    for name in given:
        if name not in expected:
            errors[f"var_{name}"] = MSG_EXTRA % {"name": variable_label(name)}
    for name in expected:
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[f"var_{name}"] = MSG_MISSING % {"name": variable_label(name)}
            continue
        if not isinstance(value, str | int):
            errors[f"var_{name}"] = MSG_VALUE_TYPE
            continue
        try:
            text = cn.clean_text(str(value), max_length=VALUE_MAX)
        except cn.NormalizeError as exc:
            errors[f"var_{name}"] = exc.message
            continue
        cleaned[name] = text
    if errors:
        raise Refused.of_fields(errors)
    return cleaned


# ----------------------------------------------------------------------------- numbers

MAX_ADHOC = 5000
MSG_NOT_MOBILE = _("Line %(line)d: “%(value)s” is not a mobile number (SMS go to mobiles only).")
MSG_BAD_LINE = _("Line %(line)d: %(message)s")
MSG_TOO_MANY = _("At most %(max)d numbers at a time.")


def clean_phone(value: Any) -> str:
    """One number typed or sent by another app: normalised, and a mobile."""
    if isinstance(value, str) and cn.is_mobile(value):
        return value  # already what normalize_phone would return: a city's list stays fast
    phone = cn.normalize_phone(value)
    if not cn.is_mobile(phone):
        raise Refused(MSG_NOT_MOBILE % {"line": 1, "value": cn.mask_phone(str(value))})
    return phone


def clean_phone_list(lines: Iterable[str]) -> list[str]:
    """Numbers typed one a line (commas and semicolons also separate): each normalised and a
    mobile; duplicates once. Refused names every bad line (with the value masked)."""
    errors: list[str] = []
    phones: dict[str, None] = {}
    count = 0
    for number, line in enumerate(lines, start=1):
        for part in re.split(r"[,，;；、]", str(line)):
            text = part.strip()
            if not text:
                continue
            count += 1
            try:
                phone = cn.normalize_phone(text)
            except cn.NormalizeError as exc:
                errors.append(str(MSG_BAD_LINE % {"line": number, "message": exc.message}))
                continue
            if not cn.is_mobile(phone):
                errors.append(str(MSG_NOT_MOBILE % {"line": number, "value": cn.mask_phone(text)}))
                continue
            phones[phone] = None
    if count > MAX_ADHOC:
        raise Refused(MSG_TOO_MANY % {"max": MAX_ADHOC}, field="phones")
    if errors:
        shown = errors[:10] + (["…"] if len(errors) > 10 else [])
        raise Refused(" ".join(shown), field="phones", code="bad_phones")
    return list(phones)


# ----------------------------------------------------------------------------- length and cost

SINGLE = 70  # characters in one SMS (Chinese text, signature included)
PART = 67  # characters in each part of a long SMS


def segments(text: str) -> int:
    """How many SMS the providers bill for this text with the signature 【…】 in front."""
    length = len(text) + len(settings.WUYI_SMS_SIGN_NAME) + 2
    return 1 if length <= SINGLE else math.ceil(length / PART)


def unit_cost(text: str) -> Decimal:
    return Decimal(settings.WUYI_SMS_PRICE) * segments(text)


# ----------------------------------------------------------------------------- when

MSG_PAST = _("The time to send has passed: choose a later time, or send now.")
MSG_TOO_FAR = _("Schedule at most %(days)d days ahead.")
MAX_DAYS_AHEAD = 31
# A form filled in a minute ago that said "in 5 minutes" is not refused for the minute it took.
GRACE = datetime.timedelta(minutes=2)


def check_send_at(
    send_at: datetime.datetime | None, *, now: datetime.datetime
) -> datetime.datetime:
    if send_at is None:
        return now
    if timezone.is_naive(send_at):
        send_at = timezone.make_aware(send_at)
    if send_at < now - GRACE:
        raise Refused(MSG_PAST, field="send_at", code="past")
    if send_at > now + datetime.timedelta(days=MAX_DAYS_AHEAD):
        raise Refused(MSG_TOO_FAR % {"days": MAX_DAYS_AHEAD}, field="send_at")
    return max(send_at, now)


def _quiet_window() -> tuple[datetime.time, datetime.time] | None:
    text = (settings.WUYI_SMS_QUIET_HOURS or "").strip()
    if not text:
        return None
    start, _sep, end = text.partition("-")
    return datetime.time.fromisoformat(start.strip()), datetime.time.fromisoformat(end.strip())


def in_quiet_hours(at: datetime.datetime) -> bool:
    """Between 22:00 and 07:00 Asia/Shanghai (WUYI_SMS_QUIET_HOURS): no SMS but urgent ones."""
    window = _quiet_window()
    if window is None:
        return False
    start, end = window
    local = timezone.localtime(at).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(at: datetime.datetime) -> datetime.datetime:
    """When a message held at `at` goes out: the end of the quiet hours (or `at`)."""
    window = _quiet_window()
    if window is None or not in_quiet_hours(at):
        return at
    local = timezone.localtime(at)
    end = local.replace(hour=window[1].hour, minute=window[1].minute, second=0, microsecond=0)
    if end <= local:
        end += datetime.timedelta(days=1)
    return end


def retry_delay(attempts: int) -> datetime.timedelta:
    """Backoff after a transient failure: 30 s, 1 min, 2 min, 4 min… at most 30 min."""
    return datetime.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))
