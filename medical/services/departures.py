"""A resident who left the register: their coming escorts cancelled, their schedules paused."""

import datetime

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from residents.models import LeftReason, Resident
from wuyi.lib.localday import aware

from .. import notify, rules
from ..models import (
    Escort,
    EscortStatus,
    Schedule,
    ScheduleStatus,
)
from .common import (
    _step,
    history,
)

DEPARTED = "by_departure"  # marks the cancel step of an escort whose resident left


def escorts_cancel_for_departure(
    *, by: User | None, resident: Resident, reason: str, on: datetime.date
) -> tuple[int, int]:
    """A resident left the register (moved out, deceased, entered by mistake): their escorts
    not yet under way from that day on (Asia/Shanghai) are cancelled, each step saying why, and
    their active schedules paused, so the booking job makes no more. Escorts already on the
    road are left to their crew. Their medical worker hears of each cancelled one in the app.
    Runs in the caller's transaction (the residents' resident_left signal). Returns
    (escorts cancelled, schedules paused)."""
    now = timezone.now()
    # Kept in the escort's steps for everyone who reads them: in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        label = str(LeftReason(reason).label) if reason in LeftReason.values else reason
        why = _("the resident left the register (%(reason)s)") % {"reason": label}
    coming = list(
        Escort.objects.select_for_update(of=("self",))
        .filter(
            resident_id=resident.pk,
            status__in=(EscortStatus.REQUESTED, EscortStatus.SCHEDULED),
            scheduled_at__gte=aware(on, datetime.time(0)),
        )
        .select_related("staff__user", "resident")
        .order_by("scheduled_at", "pk")
    )
    for escort in coming:
        # The register's consequence, whoever recorded the departure: the graph alone.
        rules.ESCORT.check(escort.status, EscortStatus.CANCELLED)
        escort.status = EscortStatus.CANCELLED
        escort.closed_at = now
        escort.outcome = why[:200]
        escort.steps = [
            *history(escort),
            {**_step(EscortStatus.CANCELLED, by, now, why), DEPARTED: True},
        ]
        escort.save(update_fields=["status", "closed_at", "outcome", "steps"])
    rules.SCHEDULE.check(ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)
    paused = Schedule.objects.filter(resident_id=resident.pk, status=ScheduleStatus.ACTIVE).update(
        status=ScheduleStatus.PAUSED
    )
    notify.escorts_cancelled_for_departure(coming, reason=why)
    return len(coming), paused


def on_resident_left(*, resident: Resident, by: User | None, reason: str, on, **kwargs) -> None:
    """The receiver of residents.signals.resident_left (connected in MedicalConfig.ready)."""
    escorts_cancel_for_departure(by=by, resident=resident, reason=reason, on=on)
