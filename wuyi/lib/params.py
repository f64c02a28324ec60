"""Query parameters, parsed in one place: a bad value is a refusal that names the parameter.

Pages and the API read their filters through these functions, so `?compound=1.5`,
`?compound=²` or `?compound=9223372036854775808` is a 400 saying which parameter is wrong and
why, instead of a 500 or a filter silently dropped (which would list everything the user can
see). An empty value means the filter is not set, as an HTML form sends "all".
"""

import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from .errors import Refused

MAX_ID = 2**63 - 1  # the largest bigint primary key
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²".isdigit() is True


class BadParameter(Refused):
    code = "parameter"


def int_param(
    params: Mapping[str, Any], name: str, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """An id or a count: None when absent or empty, else an int in [minimum, maximum]."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not _DIGITS.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise BadParameter(
            _("The parameter “%(name)s” must be a whole number from %(min)s to %(max)s.")
            % {"name": name, "min": minimum, "max": maximum},
            field=name,
        )
    return int(text)


def choice_param(params: Mapping[str, Any], name: str, choices: Iterable[str]) -> str:
    """One of `choices`, or "" when absent or empty."""
    raw = params.get(name)
    if raw is None or raw == "":
        return ""
    allowed = list(choices)
    if raw not in allowed:
        raise BadParameter(
            _("The parameter “%(name)s” must be one of: %(choices)s.")
            % {"name": name, "choices": ", ".join(allowed)},
            field=name,
        )
    return str(raw)


def text_param(params: Mapping[str, Any], name: str, *, max_length: int = 100) -> str:
    """Free text (a search), cut to `max_length`; control characters are refused."""
    raw = str(params.get(name) or "")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in raw):
        raise BadParameter(
            _("The parameter “%(name)s” contains control characters.") % {"name": name},
            field=name,
        )
    return raw[:max_length]


def date_param(params: Mapping[str, Any], name: str) -> datetime.date | None:
    """A date written 2026-12-01: None when absent or empty."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return datetime.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise BadParameter(
            _("The parameter “%(name)s” must be a date like 2026-12-01.") % {"name": name},
            field=name,
        ) from None
