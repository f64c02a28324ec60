"""What screening plugs into lower apps' registries: the door-to-door retests on the samplers'
and volunteers' today list, the register's marks (quarantine, temporary control) and count of
people in quarantine, the quarantine audience for SMS campaigns, the dashboards' figures."""

import datetime
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compounds.models import address_label
from messaging.registry import Audience, AudienceBuilder, Target, register_audience
from residents.registry import ResidentMark, register_resident_marks
from volunteers.registry import ERRAND, Task, register_task_provider
from wuyi.lib.errors import Refused
from wuyi.lib.iters import natural_key
from wuyi.lib.localday import aware
from wuyi.lib.urls import reverser

from .models import PersonKind, Place, Retest, RetestStatus

# A released quarantine shows (as ended) on the resident's page for this many days.
RELEASED_SHOWN_DAYS = 30


def today_tasks(user: Any, day: datetime.date) -> list[Task]:
    """Each pending single-tube retest of the compounds the user serves: a door to visit, in
    the order of the doors. Plain rows of what the row shows (the door and the name), not
    model instances with their relations: on every 今日任务."""
    if not (user.is_authenticated and user.role in ("volunteer", "medic")):
        return []
    rows = (
        Retest.objects.visible_to(user)
        .filter(status=RetestStatus.PENDING)
        # The first 200 by age; walked in door order below (an ORDER BY through the joins
        # cost Django more to compile than the rows cost to sort, on every 今日任务).
        .order_by("pk")
        .values_list(
            "pk",
            "round_id",
            "compound_id",
            "resident__name",
            "household__building__number",
            "household__unit",
            "household__room",
        )[:200]
    )
    sample = reverser("screening:sample", 2)
    kind = _("Retest")
    return [
        Task(
            key=f"retest:{pk}",
            kind=kind,
            title=address_label(building, unit, room),
            detail=_("Single-tube retest: %(name)s") % {"name": name},
            url=sample(round_id, compound_id),
            rank=ERRAND,
        )
        for pk, round_id, compound_id, name, building, unit, room in sorted(rows, key=_door)
    ] + control_tasks(user, sample)


def _door(row: tuple) -> tuple:
    """Door by door, as the volunteer walks the compound: building, unit, room (2 before
    10), then the retest's age."""
    pk, _round, compound_id, _name, building, unit, room = row
    return (compound_id, natural_key(building), natural_key(unit), natural_key(room), pk)


def control_tasks(user: Any, sample: Callable[..., str]) -> list[Task]:
    """Each household under temporary control in the compounds the user serves: a door where
    everything is left outside, no contact, until its retests are negative. `sample`: the
    sampling page's reverser, made once for 今日任务 (today_tasks)."""
    from .models import TemporaryControl

    rows = (
        TemporaryControl.objects.visible_to(user)
        .filter(lifted_at__isnull=True)
        .order_by("pk")  # the order they were put under control
        .values_list(
            "pk",
            "compound_id",
            "household__building__number",
            "household__unit",
            "household__room",
            "pool__barcode",
            "pool__round_id",
        )[:200]
    )
    kind = _("Temporary control")
    return [
        Task(
            key=f"control:{pk}",
            kind=kind,
            title=address_label(building, unit, room),
            detail=_("Positive pool %(barcode)s: leave everything at the door, no contact")
            % {"barcode": barcode},
            url=sample(round_id, compound_id),
            rank=ERRAND,
        )
        for pk, compound_id, building, unit, room, barcode, round_id in rows
    ]


def register() -> None:
    from compounds.figures import register_figures

    register_task_provider(today_tasks)
    from .figures import figures

    register_figures(figures)
    register_resident_marks(resident_marks, quarantined)
    register_audience(QUARANTINE_AUDIENCE)
    register_audience(MISSING_AUDIENCE)


# ----------------------------------------------------------------------------- the register


def resident_marks(resident_ids: Any, day: datetime.date) -> dict[int, list[ResidentMark]]:
    """The register's marks (residents.registry): each person's quarantine (a released one,
    the latest, as ended when none is open) and their household's temporary control. Two
    queries, whatever the number of ids."""
    from .models import Quarantine, TemporaryControl

    found: dict[int, list[ResidentMark]] = defaultdict(list)
    records = (
        Quarantine.objects.filter(resident_id__in=resident_ids)
        .filter(Q(released_at__isnull=True) | Q(released_at__gte=_recent(day)))
        .order_by("resident_id", F("released_at").desc(nulls_first=True), "-created_at")
        .values_list("resident_id", "kind", "place", "starts_on", "ends_on", "released_at")
    )
    for rid, kind, place, starts_on, ends_on, released_at in records:
        ended = released_at is not None
        if ended and found[rid]:
            continue  # an open record (sorted first) or a later release is already there
        found[rid].append(
            ResidentMark(
                kind="quarantine",
                # Home isolation says where already; the others name their place.
                label=str(PersonKind(kind).label)
                if kind == PersonKind.ISOLATION
                else f"{PersonKind(kind).label} · {Place(place).label}",
                detail=f"{starts_on.isoformat()} – {ends_on.isoformat()}",
                ended=ended,
            )
        )
    controls = (
        TemporaryControl.objects.filter(
            lifted_at__isnull=True, household__residents__id__in=resident_ids
        )
        .order_by()
        .values_list("household__residents__id", "pool__barcode", "started_at")
    )
    for rid, barcode, started_at in controls:
        found[rid].append(
            ResidentMark(
                kind="control",
                label=_("Temporary control"),
                detail=_("Positive pool %(barcode)s since %(date)s")
                % {"barcode": barcode, "date": timezone.localdate(started_at).isoformat()},
            )
        )
    return {rid: marks for rid, marks in found.items() if marks}


def _recent(day: datetime.date) -> datetime.datetime:
    """Released quarantines older than this are history: the page no longer shows them."""
    return aware(day - datetime.timedelta(days=RELEASED_SHOWN_DAYS), datetime.time())


def quarantined(day: datetime.date) -> Any:
    """The ids of the residents in quarantine on `day` (not released, started), a subquery."""
    from .models import Quarantine

    return Quarantine.objects.filter(released_at__isnull=True, starts_on__lte=day).values(
        "resident_id"
    )


# ----------------------------------------------------------------------------- audiences

KINDS = [k.value for k in PersonKind]


def _quarantine_targets(user: Any) -> list[Target]:
    return [Target(k.value, str(k.label)) for k in PersonKind]


def _quarantine_build(user: Any, values: list[str]) -> Audience:
    from residents.audiences import phones
    from residents.models import Resident

    if any(v not in KINDS for v in values):
        raise Refused(_("Choose from the list."), field="targets")
    chosen = list(dict.fromkeys(values))
    kept = quarantined(timezone.localdate()).filter(kind__in=chosen)
    labels = "、".join(str(PersonKind(v).label) for v in chosen)
    return Audience(
        # Only people not released: a released person gets no more SMS.
        rows=phones(Resident.objects.visible_to(user).filter(pk__in=kept)),
        description=_("In quarantine: %(kinds)s") % {"kinds": labels},
    )


QUARANTINE_AUDIENCE = AudienceBuilder(
    key="screening.quarantine",
    label=gettext_lazy("Close contacts and quarantine"),
    targets=_quarantine_targets,
    build=_quarantine_build,
    multiple=True,
    order=40,
)


def _missing_targets(user: Any) -> list[Target]:
    """Each compound of each round in progress the user sees: "round:compound"."""
    from . import rules, selectors
    from .models import RoundStatus, TestingRound

    if not rules.may_keep(user):
        return []
    targets = []
    rounds = TestingRound.objects.visible_to(user).filter(status=RoundStatus.OPEN).distinct()
    for testing_round in rounds.prefetch_related("subdistricts"):
        compounds = selectors.round_compounds_for(user, testing_round).order_by("name")
        targets += [
            Target(f"{testing_round.pk}:{pk}", f"{testing_round} · {name}")
            for pk, name in compounds.values_list("pk", "name")
        ]
    return targets


def _missing_build(user: Any, values: list[str]) -> Audience:
    from residents.audiences import phones
    from residents.models import Resident

    from . import rules, selectors
    from .models import TestingRound

    refused = Refused(_("Choose from the list."), field="targets")
    pairs = []
    for value in values:
        head, _sep, tail = value.partition(":")
        if not (head.isdigit() and tail.isdigit() and len(head) < 10 and len(tail) < 10):
            raise refused
        pairs.append((int(head), int(tail)))
    round_ids = {r for r, _c in pairs}
    if len(round_ids) != 1 or not rules.may_keep(user):
        raise refused  # one round at a time
    testing_round = TestingRound.objects.visible_to(user).filter(pk__in=round_ids).first()
    if testing_round is None:
        raise refused
    wanted = {c for _r, c in pairs}
    compounds = selectors.round_compounds_for(user, testing_round).filter(pk__in=wanted)
    names = list(compounds.order_by("name").values_list("name", flat=True))
    if len(names) != len(wanted):
        raise refused
    missing = selectors.missing_residents(testing_round=testing_round, compound_ids=wanted)
    return Audience(
        rows=phones(Resident.objects.visible_to(user).filter(pk__in=missing.values("pk"))),
        description=_("Not yet sampled in %(round)s: %(compounds)s")
        % {"round": testing_round, "compounds": "、".join(names)},
        compound_id=next(iter(wanted)) if len(wanted) == 1 else None,
    )


MISSING_AUDIENCE = AudienceBuilder(
    key="screening.missing",
    label=gettext_lazy("Not yet sampled in a round"),
    targets=_missing_targets,
    build=_missing_build,
    multiple=True,
    order=45,
)
