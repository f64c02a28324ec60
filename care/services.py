"""Writes on welfare checks, care plans and needs. The daily job, the pages, the API, the
offline replay and seed_demo all call these."""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from compounds.models import Community, Compound
from messaging.alerts import alert_staff
from residents import registry
from residents.models import Resident, VulnerableTag
from volunteers.models import Team, TeamKind, Volunteer
from wuyi.lib import pgcopy
from wuyi.lib.errors import Refused

from . import rules
from .models import CarePlan, Need, NeedKind, NeedStatus, Outcome, WelfareCheck

# ----------------------------------------------------------------------------- generating


@dataclass
class GenerateResult:
    created: int = 0
    existed: int = 0
    residents: int = 0
    unassigned: int = 0  # checks made with nobody to give them to (no team serves the compound)

    def line(self) -> str:
        return f"created {self.created} checks, {self.existed} already existed"


def _plans() -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """Each community's own plan ({category: every N days}) and the default for the rest."""
    own: dict[int, dict[str, int]] = defaultdict(dict)
    for community_id, category, every, is_active in CarePlan.objects.values_list(
        "community_id", "category", "every_days", "active"
    ):
        own[community_id][category] = every if is_active else 0
    return own, rules.default_plan()


def _pools(compound_ids: Iterable[int] | None) -> dict[int, list[int]]:
    """Per compound, the volunteers of the teams serving it (cleaning teams only when no other
    team does), in a stable order. One query."""
    served = Team.compounds.through.objects.filter(team__memberships__isnull=False)
    if compound_ids is not None:
        served = served.filter(compound_id__in=list(compound_ids))
    others: dict[int, list[int]] = defaultdict(list)
    cleaners: dict[int, list[int]] = defaultdict(list)
    for compound_id, kind, volunteer_id in served.values_list(
        "compound_id", "team__kind", "team__memberships__volunteer_id"
    ).order_by("compound_id", "team__memberships__volunteer_id"):
        pool = cleaners if kind == TeamKind.CLEANING else others
        if not pool[compound_id] or pool[compound_id][-1] != volunteer_id:
            pool[compound_id].append(volunteer_id)
    return {c: others.get(c) or cleaners.get(c) or [] for c in set(others) | set(cleaners)}


def _due_rows(
    day: datetime.date, compound_ids: Sequence[int] | None, result: GenerateResult
) -> Iterator[tuple]:
    """The day's checks as (resident, compound, household, date, category, volunteer) rows.
    A resident with several due categories gets one check. A compound's households go round
    its volunteers in turn (everyone in a household to the same volunteer), so the load is even
    and a volunteer keeps the same doors from day to day while the team stays the same."""
    own, default = _plans()
    wanted = {c for plan in own.values() for c, every in plan.items() if every} | set(default)
    tags = VulnerableTag.objects.filter(category__in=wanted, resident__left_on__isnull=True)
    if compound_ids is not None:
        tags = tags.filter(resident__compound_id__in=list(compound_ids))
    rows = tags.values_list(
        "resident_id",
        "resident__compound_id",
        "resident__household_id",
        "resident__community_id",
        "category",
    ).order_by("resident__compound_id", "resident__household_id", "resident_id", "category")
    pools = _pools(compound_ids)
    last_resident = None
    last_compound = None
    last_household = None
    turn = -1
    for resident_id, compound_id, household_id, community_id, category in rows.iterator(
        chunk_size=20_000
    ):
        if resident_id == last_resident:
            continue
        plan = own.get(community_id) or default
        every = plan.get(category, 0)
        if not every or not rules.due_on(day, every):
            continue
        last_resident = resident_id
        if compound_id != last_compound:
            last_compound, last_household, turn = compound_id, None, -1
        if household_id != last_household:
            last_household = household_id
            turn += 1
        pool = pools.get(compound_id) or []
        volunteer_id = pool[turn % len(pool)] if pool else None
        if volunteer_id is None:
            result.unassigned += 1
        result.residents += 1
        yield (resident_id, compound_id, household_id, day, category, volunteer_id)


CHECK_FIELDS = ("resident_id", "compound_id", "household_id", "date", "category", "volunteer_id")


def checks_generate(
    *,
    day: datetime.date,
    compounds: Iterable[int] | None = None,
    now: datetime.datetime | None = None,
    by: User | None = None,
) -> GenerateResult:
    """Give every resident whose ledger category is due on `day` (the community's care plan,
    else settings.WUYI_CARE_DEFAULT) a welfare check, each once: the unique (resident, date)
    constraint skips checks that exist, and the insert is ON CONFLICT DO NOTHING, so a second
    run, and a second copy running at the same time, create nothing and fail on nothing.
    `by` is None for the job; a secretary's "make today's checks" passes herself and is
    limited to her compounds. Refused: a day in the past or too far ahead."""
    now = now or timezone.now()
    rules.check_generate_date(day, timezone.localdate(now))
    ids: list[int] | None = None
    if by is not None:
        if not rules.may_organise(by):
            raise Refused(_("Welfare checks are organised by the community secretary."))
        visible = Compound.objects.visible_to(by)
        if compounds is not None:
            visible = visible.filter(pk__in=list(compounds))
        ids = list(visible.values_list("pk", flat=True))
    elif compounds is not None:
        ids = list(compounds)
    result = GenerateResult()
    rows = list(_due_rows(day, ids, result))
    with transaction.atomic():
        if pgcopy.available():
            created = pgcopy.insert_new(
                WelfareCheck, CHECK_FIELDS, rows, constants={"created_at": now}
            )
        else:
            before = WelfareCheck.objects.filter(date=day).count()
            WelfareCheck.objects.bulk_create(
                [
                    WelfareCheck(**dict(zip(CHECK_FIELDS, row, strict=True)), created_at=now)
                    for row in rows
                ],
                batch_size=2000,
                ignore_conflicts=True,
            )
            created = WelfareCheck.objects.filter(date=day).count() - before
        if created:
            pgcopy.analyze_if_stale({WelfareCheck: created})
    result.created = created
    result.existed = len(rows) - created
    return result


# ----------------------------------------------------------------------------- recording


def _locked(check: WelfareCheck) -> WelfareCheck:
    return (
        WelfareCheck.objects.select_for_update(of=("self",))
        .select_related("volunteer", "resident", "compound")
        .get(pk=check.pk)
    )


def check_record(
    *,
    by: User,
    check: WelfareCheck,
    outcome: str,
    mood: str = "",
    note: Any = "",
    need_kind: str = "",
    need_text: Any = "",
    now: datetime.datetime | None = None,
) -> WelfareCheck:
    """Record how a check went: reached by phone, visited or not reached, the resident's mood,
    a note, and what they need (which becomes a Need for the secretary). A check reassigned
    since the volunteer's page was loaded (an offline tap replayed late) is refused with a
    message, nothing written. Not reached twice in a row (this check and the resident's one
    before) alerts the community secretary, once."""
    now = now or timezone.now()
    note = rules.clean_note(note)
    need_text = rules.clean_note(need_text, field="need_text")
    if need_text:
        need_kind = rules.clean_need_kind(need_kind or NeedKind.NOTE)
    if mood:
        from .models import Mood

        if mood not in Mood.values:
            raise Refused(rules.MSG_MOOD, field="mood")
    with transaction.atomic():
        locked = _locked(check)
        if not rules.may_record(by, locked):
            raise Refused(rules.MSG_NOT_YOURS)
        today = timezone.localdate(now)
        if locked.date != today:
            raise Refused(rules.MSG_OTHER_DAY % {"date": locked.date.isoformat()})
        rules.CHECK.check(locked.outcome, outcome, by=by, obj=locked)
        locked.outcome = outcome
        locked.mood = mood if outcome in rules.REACHED else ""
        locked.note = note
        locked.done_at = now
        locked.done_by = by
        fields = ["outcome", "mood", "note", "done_at", "done_by"]
        if need_text:
            Need.objects.create(
                compound_id=locked.compound_id,
                resident_id=locked.resident_id,
                welfare_check=locked,
                kind=need_kind,
                text=need_text,
                created_by=by,
                created_at=now,
            )
        if outcome == Outcome.NOT_REACHED and not locked.alerted and _missed_before(locked):
            _alert_unreached(locked)
            locked.alerted = True
            fields.append("alerted")
        locked.save(update_fields=fields)
    return locked


def _missed_before(check: WelfareCheck) -> bool:
    before = (
        WelfareCheck.objects.filter(resident_id=check.resident_id, date__lt=check.date)
        .order_by("-date")
        .values_list("outcome", flat=True)
        .first()
    )
    return before == Outcome.NOT_REACHED


def _alert_unreached(check: WelfareCheck) -> None:
    resident = check.resident
    text = _(
        "%(name)s (%(compound)s) was not reached at the welfare check twice in a row: "
        "someone should go to the door."
    ) % {"name": resident.name, "compound": check.compound.name}
    alert_staff(
        compound_id=check.compound_id,
        role=Role.SECRETARY,
        text=text,
        key=f"welfare-unreached:{check.pk}",
        link=reverse("care:check", args=[check.pk]),
    )


def check_reassign(*, by: User, check: WelfareCheck, volunteer: Volunteer | None) -> WelfareCheck:
    """Give an open check to another volunteer of the compound (the secretary)."""
    if not rules.may_organise(by):
        raise Refused(_("Welfare checks are organised by the community secretary."))
    with transaction.atomic():
        locked = _locked(check)
        if locked.done:
            raise Refused(_("This check is recorded already; it cannot be given to someone else."))
        if (
            volunteer is not None
            and not Team.compounds.through.objects.filter(
                compound_id=locked.compound_id, team__memberships__volunteer=volunteer
            ).exists()
        ):
            raise Refused(_("Choose a volunteer serving this compound."), field="volunteer")
        locked.volunteer = volunteer
        locked.save(update_fields=["volunteer"])
    return locked


# ----------------------------------------------------------------------------- needs and plans


def need_add(
    *, by: User, resident: Resident, kind: str, text: Any, check: WelfareCheck | None = None
) -> Need:
    text = rules.clean_note(text, field="text")
    if not text:
        raise Refused(rules.MSG_NEED_EMPTY, field="text")
    return Need.objects.create(
        compound_id=resident.compound_id,
        resident=resident,
        welfare_check=check,
        kind=rules.clean_need_kind(kind),
        text=text,
        created_by=by,
    )


def need_handle(*, by: User, need: Need) -> Need:
    with transaction.atomic():
        locked = Need.objects.select_for_update().get(pk=need.pk)
        rules.NEED.check(locked.status, NeedStatus.HANDLED, by=by)
        locked.status = NeedStatus.HANDLED
        locked.handled_by = by
        locked.handled_at = timezone.now()
        locked.save(update_fields=["status", "handled_by", "handled_at"])
    return locked


def may_turn(user: Any, need: Need) -> bool:
    """Who may turn an open need into another app's work in one tap: the secretary, or the
    volunteer of the check it came from, when that app lets them make it at all."""
    turn = registry.need_turn(need.kind)
    if turn is None or need.status != NeedStatus.OPEN or not turn.may(user):
        return False
    if rules.may_organise(user):
        return True
    check = need.welfare_check
    return check is not None and rules.is_assignee(user, check)


def need_turn(*, by: User, need: Need, when: Any = None) -> Need:
    """One more tap: the need becomes a supply order or an escort request (the app that makes
    it registered in residents.registry), and is handled, saying what it became. Once: the
    need is locked and must be open (a double tap finds it handled). Refused: a kind no app
    turns, a need handled already, a user who may not (the app's own refusals pass on)."""
    with transaction.atomic():
        locked = Need.objects.select_for_update().select_related("resident").get(pk=need.pk)
        if locked.status != NeedStatus.OPEN:
            raise Refused(_("This need is handled already."))
        turn = registry.need_turn(locked.kind)
        if turn is None:
            raise Refused(_("This kind of need is handled by the secretary herself."))
        if not may_turn(by, locked):
            raise PermissionDenied(_("This need is not yours to turn into an order."))
        made = turn.make(
            by=by,
            resident=locked.resident,
            text=locked.text,
            key=f"care-need-{locked.pk}",
            when=when,
        )
        locked.status = NeedStatus.HANDLED
        locked.handled_by = by
        locked.handled_at = timezone.now()
        locked.made = str(made)[:100]
        locked.save(update_fields=["status", "handled_by", "handled_at", "made"])
    return locked


def care_plan_save(
    *, by: User, community: Community, category: str, every_days: Any, active: bool = True
) -> CarePlan:
    """Set how often a ledger category of the community is checked (the secretary)."""
    if not rules.may_organise(by):
        raise Refused(_("Welfare checks are organised by the community secretary."))
    from residents.models import Category

    if category not in Category.values:
        raise Refused(_("Choose a ledger category."), field="category")
    days = rules.clean_every_days(every_days)
    plan, _created = CarePlan.objects.update_or_create(
        community=community, category=category, defaults={"every_days": days, "active": active}
    )
    return plan
