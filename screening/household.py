"""What a household does about screening through its own link (residents.household): each
member's latest test result, the daily health report (健康打卡) of members in quarantine, and
where and when to come down to be sampled in the round in progress. Registered with the link's
actions and information when the app is ready (apps.py imports this module)."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from residents.household import action_url
from residents.models import Household, HouseholdLink, Resident
from residents.registry import (
    HouseholdAction,
    HouseholdInfo,
    register_household_action,
    register_household_info,
)
from wuyi.lib import cn
from wuyi.lib.errors import Refused

from . import selectors, services
from .models import HealthReport, Quarantine, Result, Sample, TubeKind

RESULTS = "screening.results"
HEALTH = "screening.health"


@dataclass(frozen=True)
class Latest:
    name: str
    taken_at: Any  # None: never sampled
    text: Any


def _result_text(sample: Sample) -> Any:
    tube = sample.tube
    if not tube.result:
        return _("Awaiting the result")
    if tube.result == Result.POSITIVE and tube.kind != TubeKind.SINGLE:
        return _("The pooled tube was positive: a single-tube retest follows")
    return tube.get_result_display()


def latest_results(household: Household) -> list[Latest]:
    """Each current member's latest sample and what it says, this household only. Two
    queries."""
    people = list(Resident.objects.current().filter(household=household).order_by("pk"))
    latest: dict[int, Sample] = {}
    samples = (
        Sample.objects.filter(household=household, resident__in=people)
        .select_related("tube")
        .order_by("resident_id", "-taken_at", "-id")
    )
    for sample in samples:
        latest.setdefault(sample.resident_id, sample)
    return [
        Latest(
            name=p.name,
            taken_at=latest[p.pk].taken_at if p.pk in latest else None,
            text=_result_text(latest[p.pk]) if p.pk in latest else _("Not sampled yet"),
        )
        for p in people
    ]


def household_results(
    request: HttpRequest, link: HouseholdLink, household: Household
) -> HttpResponse:
    return render(
        request,
        "screening/household_results.html",
        {"link": link, "household": household, "results": latest_results(household)},
    )


def _quarantined(household: Household) -> list[Quarantine]:
    return list(
        Quarantine.objects.active()
        .filter(resident__household=household, resident__left_on__isnull=True)
        .select_related("resident")
        .order_by("resident_id")
    )


def in_quarantine(household: Household) -> bool:
    """The health report is offered while a member of the household is in quarantine."""
    return bool(_quarantined(household))


def household_health(
    request: HttpRequest, link: HouseholdLink, household: Household
) -> HttpResponse:
    """Today's health report of a member in quarantine (one a day; sent again, it replaces the
    day's first)."""
    quarantines = _quarantined(household)
    error = ""
    if request.method == "POST":
        chosen = {str(q.pk): q for q in quarantines}.get(str(request.POST.get("quarantine", "")))
        try:
            if chosen is None:
                raise Refused(_("Choose who is reporting."), field="quarantine")
            symptoms = cn.clean_text(
                str(request.POST.get("symptoms", ""))[:1000], max_length=200, field="symptoms"
            )
            report = services.health_report_add(
                quarantine_id=chosen.pk,
                temperature=str(request.POST.get("temperature", ""))[:10],
                symptoms=symptoms,
                by=None,
            )
        except Refused as refused:
            error = str(refused.message)
        else:
            request.household_log = f"{chosen.resident.name} {report.temperature}°C"  # type: ignore[attr-defined]
            messages.success(request, _("Today's report is in."))
            return redirect(action_url(link, HEALTH))
    today = timezone.localdate()
    done = set(
        HealthReport.objects.filter(quarantine__in=quarantines, day=today).values_list(
            "quarantine_id", flat=True
        )
    )
    return render(
        request,
        "screening/household_health.html",
        {
            "link": link,
            "household": household,
            "quarantines": [(q, q.pk in done) for q in quarantines],
            "error": error,
        },
        status=400 if error else 200,
    )


def sampling_info(household: Household) -> list[HouseholdInfo]:
    """The sampling points and time slots of the round in progress for the household's
    building (and those for every building), earliest first; a slot already over is left
    out. Nothing but the place and the times. Two queries."""
    by_building = selectors.slots_by_building(household.compound_id)
    slots = sorted(
        by_building.get(household.building_id, []) + by_building.get(None, []),
        key=lambda slot: (slot.starts_at, slot.pk),
    )
    now = timezone.now()
    lines = []
    for slot in slots:
        if slot.ends_at <= now:
            continue
        lines.append(
            HouseholdInfo(
                kind="sampling",
                label=_("Come down to be sampled:"),
                title=slot.place,
                detail=slot.times,
            )
        )
    return lines


register_household_info(sampling_info)
register_household_action(
    HouseholdAction(
        key=HEALTH,
        label=gettext_lazy("Daily health report (quarantine)"),
        view=household_health,
        available=in_quarantine,
        order=40,
    )
)
register_household_action(
    HouseholdAction(
        key=RESULTS,
        label=gettext_lazy("Our latest test results"),
        view=household_results,
        order=50,
    )
)
