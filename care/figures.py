"""Care's figures and alert on the dashboards (compounds.figures), registered from plugins.py."""

from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.figures import Alert, Contribution, Figure, tally
from residents.rules import may_read_ledger

from . import rules
from .models import Outcome, WelfareCheck

# From this hour a welfare check still open or not reached is an alert: nobody reached the
# resident today.
EVENING = 18
WAITING = (Outcome.OPEN, Outcome.NOT_REACHED)


def figures(places: Any) -> Contribution:
    """Today's welfare checks, those done and those where nobody was reached (one query,
    whatever the number of compounds, grouped by community for the daily report); from 18:00
    an alert naming the compounds whose vulnerable residents still had no contact today (one
    more query)."""
    section = _("Care")
    may = places.user is not None and rules.may_read(places.user)
    checks = WelfareCheck.objects.filter(compound__in=places.compound_ids(), date=places.day)
    counts = tally(
        places,
        checks,
        community="compound__community_id",
        total=Count("pk"),
        done=Count("pk", filter=~Q(outcome=Outcome.OPEN)),
        missed=Count("pk", filter=Q(outcome=Outcome.NOT_REACHED)),
        waiting=Count("pk", filter=Q(outcome__in=WAITING)),
    )
    # The ledger says who was served today, by every app.
    url = reverse("residents:ledger") if places.user and may_read_ledger(places.user) else ""
    found = Contribution(
        figures=[
            Figure(
                "care.checks",
                section,
                _("Welfare checks today"),
                counts["total"],
                note=_("Calls and visits due today to vulnerable residents"),
                url=url,
                order=75,
                per=counts.split("total"),
            ),
            Figure(
                "care.done",
                section,
                _("Vulnerable residents contacted today"),
                counts["done"],
                note=_("Welfare checks recorded today: reached by phone, visited or not reached"),
                url=url,
                order=76,
                per=counts.split("done"),
            ),
            Figure(
                "care.not_reached",
                section,
                _("Not reached today"),
                counts["missed"],
                note=_("Welfare checks where nobody answered the call or the door"),
                url=url,
                order=77,
                per=counts.split("missed"),
            ),
        ]
    )
    local = timezone.localtime(places.now)
    late = local.date() == places.day and local.hour >= EVENING
    if places.brief or not late or not counts["waiting"]:
        return found
    found.alerts.append(_no_contact_alert(checks, counts["waiting"], url=url, may=may))
    return found


def _no_contact_alert(checks: Any, waiting: int, *, url: str, may: bool) -> Alert:
    """The vulnerable residents with no contact today, and the compounds with most of them."""
    worst = (
        checks.filter(outcome__in=WAITING)
        .order_by()
        .values("compound_id", "compound__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "compound__name")[:10]
    )
    return Alert(
        "care-no-contact",
        _(
            "%(n)d vulnerable residents have had no contact today (welfare check open or "
            "not reached):"
        )
        % {"n": waiting},
        waiting,
        url=url,
        danger=True,
        items=tuple(
            (
                row["compound__name"],
                reverse("care:compound", args=[row["compound_id"]]) if may else "",
            )
            for row in worst
        ),
    )
