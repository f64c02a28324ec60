"""What medical plugs into lower apps' registries: the compound page's panel and warnings,
今日任务 and the resident ledger's links (registered in MedicalConfig.ready)."""

import datetime
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import Compound
from compounds.registry import CompoundWarning
from residents.registry import ResidentLink
from volunteers.registry import ERRAND, URGENT, Task

from . import rules, selectors
from .models import (
    Ambulance,
    AmbulanceStatus,
    Escort,
    EscortKind,
    EscortStatus,
    MedicalStaff,
    Schedule,
    ScheduleStatus,
)


def compound_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A controlled or sealed compound needs an on-site medical worker and two dedicated
    ambulances (counted as on the medical panel: active workers, serviceable ambulances whose
    home is the compound)."""
    if compound.status not in selectors.COVERED_STATUSES:
        return []
    url = reverse("medical:coverage") if rules.may_read(user) else ""
    found = []
    if not MedicalStaff.objects.filter(compound=compound, active=True).exists():
        found.append(
            CompoundWarning(
                _("No on-site medical worker: nobody is on call for emergencies here."),
                url=url,
                danger=True,
            )
        )
    cars = (
        Ambulance.objects.filter(compound=compound)
        .exclude(status=AmbulanceStatus.OUT_OF_SERVICE)
        .count()
    )
    if cars < selectors.MIN_AMBULANCES:
        found.append(
            CompoundWarning(
                _("%(cars)d of the %(needed)d dedicated ambulances a %(status)s compound needs.")
                % {
                    "cars": cars,
                    "needed": selectors.MIN_AMBULANCES,
                    "status": compound.get_status_display(),
                },
                url=url,
                danger=cars == 0,
            )
        )
    return found


def task_of(escort: Escort) -> Task:
    at = timezone.localtime(escort.scheduled_at)
    closed = escort.status not in (
        EscortStatus.SCHEDULED,
        EscortStatus.DISPATCHED,
        EscortStatus.AT_HOSPITAL,
    )
    return Task(
        key=f"escort:{escort.pk}",
        kind=_("Escort"),
        title=f"{escort.resident.name} · {escort.get_kind_display()}",
        detail=f"{escort.compound.name}{escort.pickup} → {escort.hospital or '—'} "
        f"{at:%H:%M} · {escort.get_status_display()}",
        at=escort.scheduled_at,
        done=closed,
        done_url="" if closed else reverse("medical:step", args=[escort.pk]) + "?from=task",
        url=reverse("medical:escort", args=[escort.pk]),
        rank=URGENT if escort.kind == EscortKind.EMERGENCY else ERRAND - 5,
        call_url="" if closed else reverse("medical:call", args=[escort.pk]),
    )


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """The crew's and escort's jobs in 今日任务 (registered in MedicalConfig.ready)."""
    return [task_of(e) for e in selectors.my_escorts(user=user, day=day)]


def compound_panel(user: Any, compound: Compound):
    """Medical cover and today's escorts on the compound page."""
    from compounds.registry import CompoundPanel

    if not rules.may_read(user):
        return None
    day = timezone.localdate()
    today = selectors.escorts(user=user, start=day, end=day, compound_id=compound.pk)
    medics = MedicalStaff.objects.filter(compound=compound, active=True).count()
    cars = Ambulance.objects.filter(compound=compound).exclude(status="out_of_service").count()
    count = today.count()
    unassigned = list(
        selectors.without_ambulance(user=user, compound_id=compound.pk).values_list(
            "scheduled_at", flat=True
        )[:50]
    )
    if (
        not (count or medics or cars or unassigned)
        and compound.status not in selectors.COVERED_STATUSES
    ):
        return None
    return CompoundPanel(
        template="medical/_compound_panel.html",
        context={
            "compound": compound,
            "escorts_today": count,
            "medics": medics,
            "ambulances": cars,
            "flag_medic": compound.status in selectors.COVERED_STATUSES and medics < 1,
            "flag_cars": compound.status in selectors.COVERED_STATUSES
            and cars < selectors.MIN_AMBULANCES,
            "unassigned": len(unassigned),
            "unassigned_first": unassigned[0] if unassigned else None,
        },
        order=40,
    )


def resident_links(user: Any, resident_ids: Sequence[int]) -> dict[int, list[ResidentLink]]:
    """The resident's ledger line links to their recurring escorts (registered in
    MedicalConfig.ready); one query for a page of residents."""
    found: dict[int, list[ResidentLink]] = {}
    if not rules.may_read(user):
        return found
    schedules = (
        Schedule.objects.visible_to(user)
        .filter(resident_id__in=list(resident_ids))
        .exclude(status=ScheduleStatus.ENDED)
        .order_by("resident_id", "time", "pk")
    )
    for s in schedules:
        label = f"{s.get_kind_display()} {s.weekdays_display} {s.time:%H:%M}"
        if s.status != ScheduleStatus.ACTIVE:
            label += f"（{s.get_status_display()}）"
        url = reverse("medical:schedules") + f"?resident={s.resident_id}&status={s.status}"
        found.setdefault(s.resident_id, []).append(ResidentLink(label=label, url=url))
    return found
