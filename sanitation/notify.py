"""The SMS a missed round sends, through messaging (floor 2): to the cleaner once, then to the
community secretary once per compound and sweep.

The texts are provider-approved templates (TEMPLATES, created unapproved by this app's
migration: an operator enters the provider's code and approves them). A template that is
missing or not approved does not stop the sweep: the round stays claimed, the page shows it
overdue, and the log says which template to approve (no phone number, no name).
"""

import logging
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from wuyi.lib.errors import Refused

from .models import Round

log = logging.getLogger(__name__)

OVERDUE = "消杀逾期提醒"
ESCALATED = "消杀逾期汇总"
TEMPLATES = {
    OVERDUE: "{area}（{compound}）{time}的消杀还未完成，请尽快处理并在现场扫码打卡。",
    ESCALATED: "{compound}有{count}个消杀轮次逾期未完成（{areas}），请安排补做。",
}
PURPOSE = "sanitation_overdue"


def _send(**kwargs: Any) -> bool:
    from messaging.services import send_sms

    try:
        send_sms(purpose=PURPOSE, urgent=False, **kwargs)
    except Refused as refused:
        log.warning("sanitation reminder not queued (%s): %s", kwargs["template"], refused.message)
        return False
    return True


def round_overdue(round: Round) -> bool:
    """Tell the round's cleaner it is overdue (the same round never twice: the key)."""
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
        idempotency_key=f"sanitation:overdue:{round.pk}",
        place=round.compound,
    )


def rounds_escalated(secretary: Any, compound: Any, rounds: Sequence[Round]) -> bool:
    """Tell a secretary which of a compound's rounds are still not done."""
    names = "、".join(sorted({r.area.name for r in rounds}))
    if len(names) > 40:
        names = names[:39] + "…"
    first = min(r.pk for r in rounds)
    return _send(
        to=secretary.phone,
        template=ESCALATED,
        variables={"compound": compound.name, "count": str(len(rounds)), "areas": names},
        idempotency_key=f"sanitation:escalated:{compound.pk}:{first}:{secretary.pk}",
        place=compound,
    )
