"""What medical plugs into the compound page's warnings (compounds.registry)."""

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from compounds.registry import CompoundWarning

from . import rules, selectors
from .models import Ambulance, AmbulanceStatus, MedicalStaff


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


# ----------------------------------------------------------------------------- figures


def figures(places: Any) -> Any:
    """The dashboards' medical figures (compounds.figures): escorts today, emergencies in the
    last 7 days, missed dialysis pickups, and controlled or sealed compounds lacking cover. At
    most four queries whatever the number of compounds."""
    import datetime

    from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value, Window
    from django.db.models.functions import Coalesce

    from compounds.figures import Alert, Contribution, Figure
    from wuyi.lib.localday import bounds

    from .models import Escort, EscortKind, EscortStatus

    section = _("Medical")
    url = reverse("medical:escorts") if places.user and rules.may_read(places.user) else ""
    start, end = bounds(places.day)
    week_start, _end = bounds(places.day - datetime.timedelta(days=6), places.day)
    counts = (
        Escort.objects.filter(compound__in=places.compound_ids())
        .order_by()
        .aggregate(
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
    )
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
            ),
            Figure(
                "medical.emergencies_7d",
                section,
                _("Emergencies in the last 7 days"),
                counts["emergencies"],
                url=url,
                order=51,
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
    if n:
        cover = reverse("medical:coverage") if places.user and rules.may_read(places.user) else ""
        found.alerts.append(
            Alert(
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
        )
    return found
