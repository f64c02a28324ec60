"""What the supplies services share: the secretary's check, clean text and phone, an order's
event, a new code."""

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from wuyi.lib import cn
from wuyi.lib.errors import Refused

from .. import rules
from ..models import (
    Order,
    OrderEvent,
)


def _require_organiser(user: Any) -> None:
    if not rules.may_organise(user):
        raise PermissionDenied(_("Supplies are organised by the community secretary."))


def _text(value: Any, *, field: str, max_length: int, multiline: bool = False) -> str:
    try:
        return cn.clean_text(value, max_length=max_length, field=field, multiline=multiline)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=field) from None


def _phone(value: Any) -> str:
    if not value:
        return ""
    try:
        return cn.normalize_phone(value)
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="phone") from None


def _event(order: Order, status: str, by: Any, note: str = "") -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, status=status, by=by if getattr(by, "pk", None) else None, note=note
    )


def _new_code() -> str:
    return f"{secrets.randbelow(10**rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
