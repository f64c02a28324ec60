"""What medical plugs into lower apps' registries: the compound page's panel and warnings,
今日任务 and the resident ledger's links (registered in MedicalConfig.ready)."""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compounds.models import Compound
from compounds.registry import CompoundWarning
from residents.registry import Contact, ResidentIds, ResidentLink, id_filter
from volunteers.registry import ERRAND, URGENT, Task
from wuyi.lib import localday

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


# ----------------------------------------------------------------------------- figures


def figures(places: Any) -> Any:
    """The dashboards' medical figures (compounds.figures): escorts today, emergencies in the
    last 7 days, missed dialysis pickups, and controlled or sealed compounds lacking cover. At
    most four queries whatever the number of compounds."""
    from compounds.figures import Alert, Contribution, Figure

    section = _("Medical")
    url = reverse("medical:escorts") if places.user and rules.may_read(places.user) else ""
    counts = _escort_counts(places)
    found = Contribution(
        figures=[
            Figure(
                "medical.escorts_today",
                section,
                _("Escorts today"),
                counts["today"],
                note=_("Pickups today, cancelled ones not counted"),
                url=url,
                order=50,
                per=counts.split("today"),
            ),
            Figure(
                "medical.emergencies_7d",
                section,
                _("Emergencies in the last 7 days"),
                counts["emergencies"],
                note=_("Emergency escorts requested in the last 7 days"),
                url=url,
                order=51,
                per=counts.split("emergencies"),
            ),
        ]
    )
    if places.brief:
        return found
    if counts["missed"]:
        found.alerts.append(
            Alert(
                "medical-missed-dialysis",
                _("%(n)d dialysis pickups today are past their time with nobody dispatched.")
                % {"n": counts["missed"]},
                counts["missed"],
                url=url,
                danger=True,
            )
        )
    gaps = _cover_gaps_alert(places)
    if gaps is not None:
        found.alerts.append(gaps)
    return found


def _escort_counts(places: Any) -> Any:
    """Escorts today, emergencies in the last 7 days and dialysis pickups missed today: one
    query."""
    import datetime

    from django.db.models import Count, Q

    from compounds.figures import tally
    from wuyi.lib.localday import bounds

    from .models import Escort, EscortKind, EscortStatus

    start, end = bounds(places.day)
    week_start, _end = bounds(places.day - datetime.timedelta(days=6), places.day)
    return tally(
        places,
        Escort.objects.filter(compound__in=places.compound_ids()),
        community="compound__community_id",
        today=Count(
            "pk",
            filter=Q(scheduled_at__gte=start, scheduled_at__lt=end)
            & ~Q(status=EscortStatus.CANCELLED),
        ),
        emergencies=Count(
            "pk",
            filter=Q(kind=EscortKind.EMERGENCY, created_at__gte=week_start, created_at__lt=end),
        ),
        # A dialysis pickup whose time passed today with nobody dispatched.
        missed=Count(
            "pk",
            filter=Q(
                kind=EscortKind.DIALYSIS,
                scheduled_at__gte=start,
                scheduled_at__lt=min(end, places.now),
                status__in=(EscortStatus.REQUESTED, EscortStatus.SCHEDULED),
            ),
        ),
    )


def _cover_gaps_alert(places: Any) -> Any:
    """The alert naming the controlled or sealed compounds without an on-site medical worker or
    enough ambulances, or None when none lack cover: one query."""
    from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value, Window
    from django.db.models.functions import Coalesce

    from compounds.figures import Alert

    medics = (
        MedicalStaff.objects.filter(compound=OuterRef("pk"), active=True)
        .order_by()
        .values("compound")
        .annotate(n=Count("pk"))
        .values("n")
    )
    cars = (
        Ambulance.objects.filter(compound=OuterRef("pk"))
        .exclude(status=AmbulanceStatus.OUT_OF_SERVICE)
        .order_by()
        .values("compound")
        .annotate(n=Count("pk"))
        .values("n")
    )
    lacking = (
        places.compounds.filter(status__in=selectors.COVERED_STATUSES)
        .annotate(
            medics=Coalesce(Subquery(medics, output_field=IntegerField()), Value(0)),
            cars=Coalesce(Subquery(cars, output_field=IntegerField()), Value(0)),
        )
        .filter(Q(medics=0) | Q(cars__lt=selectors.MIN_AMBULANCES))
        .order_by("name")
    )
    # The first ten named, and how many in all (a window count): one query.
    rows = list(lacking.annotate(n=Window(Count("pk"))).values_list("pk", "name", "n")[:10])
    named = [(pk, name) for pk, name, _n in rows]
    n = rows[0][2] if rows else 0
    if not n:
        return None
    cover = reverse("medical:coverage") if places.user and rules.may_read(places.user) else ""
    return Alert(
        "medical-gaps",
        _(
            "%(n)d controlled or sealed compounds lack an on-site medical worker or a "
            "second ambulance:"
        )
        % {"n": n},
        n,
        url=cover,
        danger=True,
        items=tuple((name, reverse("compounds:detail", args=[pk])) for pk, name in named),
    )


def _escorted(resident_ids: ResidentIds, day: datetime.date) -> Any:
    start, end = localday.bounds(day)
    return Escort.objects.filter(
        resident_id__in=id_filter(resident_ids), dispatched_at__gte=start, dispatched_at__lt=end
    ).exclude(status=EscortStatus.CANCELLED)


def escort_contacts(resident_ids: ResidentIds, day: datetime.date) -> dict[int, list[Any]]:
    """The ledger's served today (residents.registry.register_contacts): residents whose
    escort set off on `day` (`resident_ids`: ids or a queryset of them). One query."""
    found: dict[int, list[Any]] = defaultdict(list)
    for resident_id, at in _escorted(resident_ids, day).values_list("resident_id", "dispatched_at"):
        found[resident_id].append(Contact(kind="escort", label=gettext_lazy("Escort"), at=at))
    return found


def escort_reached(resident_ids: ResidentIds, day: datetime.date) -> Any:
    """The same residents as a queryset of their ids, not run (residents.registry.reached_ids)."""
    return _escorted(resident_ids, day).values("resident_id")
