"""What sanitation plugs into lower apps' registries: its panel and warnings on the compound
page (compounds.registry), the cleaner's rounds in 今日任务 (volunteers.registry), its system
texts (messaging.registry). Registered from SanitationConfig.ready()."""

import datetime
from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compounds.models import Compound
from compounds.registry import (
    CompoundPanel,
    CompoundWarning,
    register_compound_panel,
    register_compound_warning,
)
from messaging.registry import register_system_templates
from volunteers.registry import Task, register_task_provider
from wuyi.lib.localday import clock
from wuyi.lib.urls import reverser

from . import rules, selectors
from .models import Area
from .notify import ESCALATED, OVERDUE


def register() -> None:
    from compounds.figures import register_figures

    register_figures(figures)
    register_compound_panel(compound_panel)
    register_compound_warning(compound_warnings)
    register_task_provider(today_tasks)
    # Its own texts (codes, links, reminders) are never offered for a campaign.
    register_system_templates(OVERDUE, ESCALATED)


def compound_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A compound whose status gets a daily roster but has no active area gets no round at all,
    and nothing else says so."""
    if compound.status not in rules.roster_statuses():
        return []
    if Area.objects.filter(compound=compound, active=True).exists():
        return []
    return [
        CompoundWarning(
            _(
                "No disinfection areas: %(status)s compounds get daily rounds, but this one has "
                "no area, so no round is made and no cleaner is reminded."
            )
            % {"status": compound.get_status_display()},
            url=reverse("sanitation:areas", args=[compound.pk]),
            danger=True,
        )
    ]


def task_of(round: Any, url_of: Callable[[int], str] | None = None) -> Task:
    """A round in 今日任务 (a row of selectors.my_rounds): no one-tap done (the proof is the
    code next to the area, scanned there); the row opens the round, which says so. `url_of`:
    the round page's reverser, made once for a list (wuyi.lib.urls)."""
    return Task(
        key=f"round:{round.pk}",
        kind=_("Disinfection"),
        title=round.area__name,
        detail=f"{round.compound__name} {clock(round.due_at)}-{clock(round.window_ends_at)}",
        at=round.due_at,
        done=round.done_at is not None,
        url=(url_of or reverser("sanitation:round"))(round.pk),
    )


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """The cleaner's rounds in 今日任务 (registered above); one query."""
    url_of = reverser("sanitation:round")
    return [task_of(r, url_of) for r in selectors.my_rounds(user=user, day=day)]


def compound_panel(user: Any, compound: Compound):
    """Today's disinfection on the compound page: progress and links."""
    day = timezone.localdate()
    progress = selectors.day_totals(compound=compound, day=day)
    if (
        not progress.total
        and compound.status not in rules.roster_statuses()
        and not Area.objects.filter(compound=compound).exists()
    ):
        return None
    return CompoundPanel(
        template="sanitation/_compound_panel.html",
        context={"compound": compound, "progress": progress},
        order=30,
    )


# ----------------------------------------------------------------------------- figures

# Below this share of the day's rounds done by 18:00, a compound is named in the alerts.
LOW_COMPLETION = 0.8
EVENING = 18


def _share_done(row: dict[str, int]) -> int | None:
    """Rounds done of those due, in %."""
    return round(100 * row["done"] / row["total"]) if row["total"] else None


def figures(places: Any) -> Any:
    """The dashboards' disinfection figures (compounds.figures): today's rounds done of those
    due, and from 18:00 the compounds below 80 %. One or two queries."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from compounds.figures import Contribution, Figure, Split, tally

    from .models import Round

    section = _("Disinfection")
    may = places.user is not None and rules.may_read_rates(places.user)
    url = reverse("sanitation:overview") if may else ""
    rounds = Round.objects.filter(compound__in=places.compound_ids(), date=places.day)
    counts = tally(
        places,
        rounds,
        community="compound__community_id",
        total=Count("pk"),
        done=Count("pk", filter=Q(done_at__isnull=False)),
    )

    share = _share_done(counts.total)
    shares = None
    if counts.per is not None:
        shares = Split({c: _share_done(row) for c, row in counts.per.items()}, default=None)
    found = Contribution(
        figures=[
            Figure(
                "sanitation.rounds",
                section,
                _("Disinfection rounds today"),
                counts["total"],
                note=_("Disinfection rounds due today"),
                url=url,
                order=60,
                per=counts.split("total"),
            ),
            Figure(
                "sanitation.done",
                section,
                _("Rounds done today"),
                counts["done"],
                note=_("Disinfection rounds due today and done"),
                url=url,
                order=61,
                per=counts.split("done"),
            ),
            Figure(
                "sanitation.completion",
                section,
                _("Today's disinfection completion"),
                share,
                unit="%",
                note=_("Rounds done of those due today"),
                url=url,
                order=62,
                per=shares,
            ),
        ]
    )
    local = timezone.localtime(places.now)
    if places.brief or local.date() != places.day or local.hour < EVENING:
        return found
    found.alerts.extend(_low_alert(rounds, url=url, may=may))
    return found


def _low_alert(rounds: Any, *, url: str, may: bool) -> list[Any]:
    """The compounds below 80 % of today's rounds (one query), as an alert naming them."""
    from django.db.models import Count, F, Q

    from compounds.figures import Alert

    low = list(
        rounds.order_by()
        .values("compound_id", "compound__name")
        .annotate(total=Count("pk"), finished=Count("pk", filter=Q(done_at__isnull=False)))
        .filter(finished__lt=F("total") * LOW_COMPLETION)
        .order_by("compound__name")
        .values_list("compound_id", "compound__name")
    )
    if not low:
        return []
    return [
        Alert(
            "sanitation-low",
            _("%(n)d compounds have done less than 80 %% of today's disinfection rounds:")
            % {"n": len(low)},
            len(low),
            url=url,
            items=tuple(
                (name, reverse("sanitation:compound", args=[pk]) if may else "")
                for pk, name in low[:10]
            ),
        )
    ]
