"""The SMS a missed round sends, through messaging (floor 2): to the cleaner once, then to the
community secretary once per compound and sweep.

The texts are provider-approved templates, created unapproved by migration 0002: an operator
enters the provider's code and approves them (seed_demo approves them with demo codes). A
template missing or not approved does not stop the sweep: the round stays claimed, the page
shows it overdue, and the log says which template to approve (no phone number, no name).
"""

import logging
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from messaging.rules import VALUE_MAX
from messaging.services import send_sms
from wuyi.lib.errors import Refused

from .models import Round

log = logging.getLogger(__name__)

OVERDUE = "消杀逾期提醒"
ESCALATED = "消杀逾期汇总"
PURPOSE = "sanitation_overdue"


def _fit(text: str) -> str:
    """A variable as long as a provider takes (a long compound name is cut, not refused)."""
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def _send(**kwargs: Any) -> bool:
    kwargs["variables"] = {name: _fit(value) for name, value in kwargs["variables"].items()}
    try:
        send_sms(purpose=PURPOSE, urgent=False, **kwargs)
    except Refused as refused:
        log.warning("sanitation reminder not queued (%s): %s", kwargs["template"], refused.message)
        return False
    return True


def round_overdue(round: Round) -> bool:
    """Tell the round's cleaner it is overdue (never twice: the key names round and cleaner)."""
    if round.assignee is None:
        return False
    return _send(
        to=round.assignee.phone,
        template=OVERDUE,
        variables={
            "area": round.area.name,
            "compound": round.compound.name,
            "time": timezone.localtime(round.due_at).strftime("%H:%M"),
        },
        idempotency_key=f"sanitation:overdue:{round.pk}:{round.assignee.pk}",
        place=round.compound,
    )


def rounds_escalated(secretary: Any, compound: Any, rounds: Sequence[Round]) -> bool:
    """Tell a secretary which of a compound's rounds are still not done."""
    names = "、".join(sorted({r.area.name for r in rounds}))
    first = min(r.pk for r in rounds)
    return _send(
        to=secretary.phone,
        template=ESCALATED,
        variables={"compound": compound.name, "count": str(len(rounds)), "areas": names},
        idempotency_key=f"sanitation:escalated:{compound.pk}:{first}:{secretary.pk}",
        place=compound,
    )
