"""What compounds plugs into its own registries: the warnings panel on the compound page, and
the place tree's own warnings (who answers for the compound and cannot be reached)."""

from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from accounts.models import Level, Role

from .registry import CompoundPanel, CompoundWarning, compound_warnings
from .selectors import users_posted_at

# Who is told of the warnings: those who run the compound and those above them.
READERS = {Role.SECRETARY, Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF}


def _may_read(user: Any) -> bool:
    return bool(user.is_superuser or user.role in READERS)


def warnings_panel(user: Any, compound: Any) -> CompoundPanel | None:
    """Every registered warning, in one panel at the top of the compound page (none: no
    panel)."""
    if not _may_read(user):
        return None
    warnings = compound_warnings(user, compound)
    if not warnings:
        return None
    return CompoundPanel(
        template="compounds/_warnings_panel.html",
        context={"warnings": warnings},
        order=0,
    )


def _user_admin_url(user: Any, viewer: Any) -> str:
    if not viewer.is_superuser:
        return ""
    try:
        return reverse("admin:accounts_user_change", args=[user.pk])
    except NoReverseMatch:
        return ""


def secretary_warnings(user: Any, compound: Any) -> list[CompoundWarning]:
    """A community with no secretary, or a secretary with no mobile number: overdue rounds and
    other escalations reach her only in the app (and the sub-district through it)."""
    secretaries = users_posted_at(Level.COMMUNITY, compound.community_id, roles=[Role.SECRETARY])
    if not secretaries:
        return [
            CompoundWarning(
                _("%(community)s has no community secretary: its alerts go to the sub-district.")
                % {"community": compound.community.name},
                danger=True,
            )
        ]
    return [
        CompoundWarning(
            _(
                "Secretary %(name)s has no mobile number: overdue rounds and escalations reach "
                "them only in the app, and the sub-district with them."
            )
            % {"name": secretary.display_name},
            url=_user_admin_url(secretary, user),
        )
        for secretary in secretaries
        if not secretary.phone
    ]


# ----------------------------------------------------------------------------- figures


def status_figures(places: Any) -> Any:
    """Compounds by control status now and over the last four weeks (from the status changes,
    not from snapshots that could drift), days since the last positive case, cases per day.
    Four queries whatever the number of compounds (two in the daily report, by community)."""
    import datetime

    from django.db.models import Count, Max, Q

    from .figures import Contribution, Figure, last_days, tally
    from .models import ControlStatus, PositiveCase

    section = _("Control status")
    counts = tally(
        places,
        places.compounds,
        community="community_id",
        total=Count("pk"),
        **{s: Count("pk", filter=Q(status=s)) for s in ControlStatus.values},
    )
    from django.utils import timezone

    if places.day < timezone.localdate():
        _undo_changes_since(places, counts)
    found = Contribution()
    found.figures.extend(_status_count_figures(counts, section))
    cases = PositiveCase.objects.filter(compound__in=places.compound_ids())
    week_start = places.day - datetime.timedelta(days=7)
    seen = tally(
        places,
        cases.filter(found_on__lte=places.day),
        community="compound__community_id",
        last=Max("found_on"),
        week=Count("pk", filter=Q(found_on__gt=week_start)),
    )
    since = seen.split("last", default=None)
    found.figures += [
        Figure(
            "compounds.days_since_case",
            section,
            _("Days since the last case"),
            (places.day - seen["last"]).days if seen["last"] else None,
            unit=_("days"),
            note=_("Days since a positive case was last found in any of these compounds"),
            url=reverse("compounds:list"),
            order=20,
            per=since.map(lambda last: (places.day - last).days if last else None)
            if since is not None
            else None,
        ),
        Figure(
            "compounds.cases_7d",
            section,
            _("Cases in the last 7 days"),
            seen["week"],
            note=_("Positive cases found in these compounds in the last 7 days"),
            url=reverse("compounds:list"),
            order=21,
            per=seen.split("week"),
        ),
    ]
    if places.brief:
        return found

    days = last_days(places.day, 28)
    per_day = dict(
        cases.filter(found_on__gte=days[0], found_on__lte=places.day)
        .order_by()
        .values("found_on")
        .annotate(n=Count("pk"))
        .values_list("found_on", "n")
    )
    by_day = _status_by_day(places, counts.total, days)
    found.charts.extend(_status_charts(days, by_day, per_day))
    return found


def _undo_changes_since(places: Any, counts: Any) -> None:
    """A past day (daily_report --date): the compounds by status at `places.now` (the day's
    end), from today's counts with every later status change undone (the status history, not
    a snapshot): one query."""
    from django.db.models import Count, F

    from .models import StatusChange

    later = (
        StatusChange.objects.filter(compound__in=places.compound_ids(), changed_at__gt=places.now)
        .order_by()
        .values("from_status", "to_status", community=F("compound__community_id"))
        .annotate(n=Count("pk"))
    )
    for row in later:
        rows = [counts.total]
        if counts.per is not None and row["community"] in counts.per:
            rows.append(counts.per[row["community"]])
        for counted in rows:
            counted[row["from_status"]] += row["n"]
            counted[row["to_status"]] -= row["n"]


def _status_count_figures(counts: Any, section: str) -> list[Any]:
    """The number of compounds, and of compounds in each control status now."""
    from .figures import Figure
    from .models import ControlStatus

    url = reverse("compounds:list")
    figures = [
        Figure(
            "compounds.total",
            section,
            _("Compounds"),
            counts["total"],
            note=_("Compounds in this area"),
            url=url,
            order=10,
            per=counts.split("total"),
        )
    ]
    for i, (value, label) in enumerate(ControlStatus.choices):
        figures.append(
            Figure(
                f"compounds.{value}",
                section,
                str(label),
                counts[value],
                note=_("Compounds whose control status is now: %(status)s") % {"status": label},
                url=f"{url}?status={value}",
                order=11 + i,
                per=counts.split(value),
            )
        )
    return figures


def _status_by_day(places: Any, counts: dict[str, int], days: list[Any]) -> dict[Any, dict]:
    """Compounds in each control status at the end of each day, from today's counts and the
    status changes: one query."""
    import datetime

    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from wuyi.lib.localday import start_of

    from .models import ControlStatus, StatusChange

    # Walk back from today's counts: a change on a later day is undone for every earlier day.
    tz = timezone.get_default_timezone()
    changes = (
        StatusChange.objects.filter(
            compound__in=places.compound_ids(), changed_at__gte=start_of(days[1])
        )
        .annotate(day=TruncDate("changed_at", tzinfo=tz))
        .order_by()
        .values("day", "from_status", "to_status")
        .annotate(n=Count("pk"))
    )
    undo: dict[datetime.date, dict[str, int]] = {}
    for row in changes:
        delta = undo.setdefault(row["day"], {})
        delta[row["from_status"]] = delta.get(row["from_status"], 0) + row["n"]
        delta[row["to_status"]] = delta.get(row["to_status"], 0) - row["n"]
    running = {s: counts[s] for s in ControlStatus.values}
    by_day: dict[datetime.date, dict[str, int]] = {}
    for day in reversed(days):
        by_day[day] = dict(running)
        for status, n in undo.get(day, {}).items():
            if status in running:
                running[status] += n
    return by_day


def _status_charts(days: list[Any], by_day: dict[Any, dict], per_day: dict[Any, int]) -> list[Any]:
    """The four weeks' charts: compounds by control status, and positive cases per day."""
    from .figures import Chart
    from .models import ControlStatus

    labels = [d.strftime("%m-%d") for d in days]
    return [
        Chart(
            "compounds.status_trend",
            _("Compounds by control status, last 4 weeks"),
            labels,
            [
                (str(label), [by_day[d][value] for d in days])
                for value, label in ControlStatus.choices
            ],
            kind="bar",
            stacked=True,
            order=10,
        ),
        Chart(
            "compounds.cases_per_day",
            _("Positive cases per day"),
            labels,
            [(_("Cases"), [per_day.get(d, 0) for d in days])],
            kind="bar",
            order=20,
        ),
    ]
