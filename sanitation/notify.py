"""What a missed round sends, through messaging (floor 2): to the cleaner once, then to the
community secretary once per compound and sweep; each by SMS and under the person's bell, and a
secretary with no phone number is heard by the sub-district too (messaging.alerts).

The texts are provider-approved templates, created unapproved by migration 0002: an operator
enters the provider's code and approves them (seed_demo approves them with demo codes). A
template missing or not approved does not stop the sweep: the round stays claimed, the page
shows it overdue, and the log says which template to approve (no phone number, no name).
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, Severity
from accounts.services import alert_raise, in_site_language
from messaging.alerts import alert_deliver, alert_staff
from messaging.rules import fit_value
from messaging.services import OneSms, notify_by_sms

from .models import Round

OVERDUE = "消杀逾期提醒"
ESCALATED = "消杀逾期汇总"
PURPOSE = "sanitation_overdue"


def overdue_key(round: Round) -> str:
    return f"sanitation:overdue:{round.pk}:{round.assignee_id}"


def _overdue_variables(r: Round) -> dict[str, str]:
    return {
        "area": fit_value(r.area.name),
        "compound": fit_value(r.compound.name),
        "time": timezone.localtime(r.due_at).strftime("%H:%M"),
    }


@in_site_language
def rounds_overdue(rounds: Sequence[Round]) -> int:
    """Tell each round's cleaner it is overdue: by SMS, one message per round, never twice (the
    key names round and cleaner; a key already used is skipped), written together per
    compound; and under the cleaner's bell (one alert per cleaner and key). Not forwarded when
    the cleaner has no phone: the escalation to the secretary follows anyway. Returns how many
    SMS were queued."""
    by_compound: dict[int, list[Round]] = defaultdict(list)
    for r in rounds:
        if r.assignee is None:
            continue
        alert_raise(
            to=r.assignee.user,
            text=_("Disinfection of %(area)s at %(compound)s (due %(time)s) is overdue.")
            % _overdue_variables(r),
            key=overdue_key(r),
            link=reverse("sanitation:round", args=[r.pk]),
        )
        if r.assignee.phone:
            by_compound[r.compound_id].append(r)
    queued = 0
    for group in by_compound.values():
        queued += notify_by_sms(
            to=[
                OneSms(
                    to=r.assignee.phone,  # type: ignore[union-attr]
                    variables=_overdue_variables(r),
                    idempotency_key=overdue_key(r),
                )
                for r in group
            ],
            template=OVERDUE,
            purpose=PURPOSE,
            place=group[0].compound,
        )
    return queued


def round_overdue(round: Round) -> bool:
    """Tell the round's cleaner it is overdue (never twice: the key names round and cleaner)."""
    return rounds_overdue([round]) > 0


def escalated_key(secretary: Any, compound_id: int, rounds: Sequence[Round]) -> str:
    return f"sanitation:escalated:{compound_id}:{min(r.pk for r in rounds)}:{secretary.pk}"


def _overdue_text(compound: Any, rounds: Sequence[Round]) -> str:
    names = "、".join(sorted({r.area.name for r in rounds}))
    return _("%(compound)s: %(count)d disinfection rounds still not done (%(areas)s).") % {
        "compound": compound.name,
        "count": len(rounds),
        "areas": names,
    }


@in_site_language
def rounds_escalated(secretary: Any, compound: Any, rounds: Sequence[Round]) -> bool:
    """Tell a secretary which of a compound's rounds are still not done: by SMS when she has a
    number, always under her bell; with no number (or the SMS refused) the sub-district staff
    hear it in the app as well. True when the SMS was queued."""
    names = "、".join(sorted({r.area.name for r in rounds}))
    key = escalated_key(secretary, compound.pk, rounds)

    def sms(phone: str) -> bool:
        sent = notify_by_sms(
            to=phone,
            template=ESCALATED,
            variables={"compound": compound.name, "count": str(len(rounds)), "areas": names},
            purpose=PURPOSE,
            idempotency_key=key,
            place=compound,
            cut=True,
        )
        return sent > 0

    delivery = alert_deliver(
        to=secretary,
        sms=sms,
        text=_overdue_text(compound, rounds),
        key=key,
        link=reverse("sanitation:compound", args=[compound.pk]),
        severity=Severity.URGENT,
        compound_id=compound.pk,
    )
    return delivery.texted


@in_site_language
def rounds_escalated_without_secretary(compound: Any, rounds: Sequence[Round]) -> int:
    """A community with no secretary posted: the escalation goes to the staff above, in the app.
    Returns how many were told."""
    first = min(r.pk for r in rounds)
    told = alert_staff(
        compound_id=compound.pk,
        role=Role.SECRETARY,
        text=_overdue_text(compound, rounds),
        key=f"sanitation:escalated:{compound.pk}:{first}",
        link=reverse("sanitation:compound", args=[compound.pk]),
        severity=Severity.URGENT,
    )
    return len(told)
