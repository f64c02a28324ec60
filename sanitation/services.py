"""Writes on areas, rosters, rounds and the medical-waste log. The roster job, the overdue
sweep, the pages, the API and seed_demo all call these."""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from compounds.models import Building, Compound, Posting
from volunteers.models import Membership, Team, TeamKind, Volunteer
from wuyi.lib import cn, pgcopy, photos
from wuyi.lib.errors import Refused

from . import notify, rules, selectors
from .models import Area, AreaKind, Method, Round, Timing, WasteRecord


def _require_organiser(user: Any) -> None:
    if not rules.may_organise(user):
        raise PermissionDenied(_("Disinfection is organised by the community secretary."))


def _aware(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


# ----------------------------------------------------------------------------- areas


def area_save(
    *,
    by: User,
    compound: Compound,
    name: Any,
    kind: str,
    method: str,
    times: Any,
    window_minutes: Any = 60,
    building: Building | None = None,
    team: Team | None = None,
    active: bool = True,
    area: Area | None = None,
) -> Area:
    """Create or change an area. Refused: no round or more than the maximum a day, a time that
    is not one, a building or team of another compound or community, a name taken."""
    _require_organiser(by)
    errors: dict[str, Any] = {}
    try:
        name = cn.clean_text(name, max_length=60, field="name")
        if not name:
            errors["name"] = _("Name the area, e.g. 3号楼电梯.")
    except cn.NormalizeError as exc:
        errors["name"] = exc.message
    if kind not in AreaKind.values:
        errors["kind"] = _("Choose a kind of area.")
    if method not in Method.values:
        errors["method"] = _("Choose a method.")
    try:
        times = rules.clean_times(times)
    except Refused as refused:
        errors["times"] = refused.message
    try:
        window_minutes = rules.clean_window(window_minutes)
    except Refused as refused:
        errors["window_minutes"] = refused.message
    if building is not None and building.compound_id != compound.pk:
        errors["building"] = _("Choose a building of this compound.")
    if team is not None and team.community_id != compound.community_id:
        errors["team"] = _("Choose a team of this compound's community.")
    if errors:
        raise Refused.of_fields(errors)
    area = area or Area(compound=compound)
    area.name, area.kind, area.method = name, kind, method
    area.times, area.window_minutes = times, window_minutes
    area.building, area.team, area.active = building, team, active
    try:
        with transaction.atomic():
            area.save()
    except IntegrityError:
        raise Refused(_("The compound has an area of that name already."), field="name") from None
    return area


def areas_create_defaults(*, by: User | None, compound: Compound) -> tuple[int, int]:
    """The areas every compound starts with (rules.default_areas), each once: a second call
    creates none. Returns (created, already existed)."""
    if by is not None:
        _require_organiser(by)
    buildings = list(Building.objects.filter(compound=compound).order_by("number"))
    wanted = [
        Area(
            compound=compound,
            building=building,
            kind=kind,
            name=name,
            method=rules.DEFAULTS[kind][0],
            times=list(rules.DEFAULTS[kind][1]),
        )
        for kind, building, name in rules.default_areas(buildings)
    ]
    have = set(Area.objects.filter(compound=compound).values_list("name", flat=True))
    new = [a for a in wanted if a.name not in have]
    Area.objects.bulk_create(new, ignore_conflicts=True)
    return len(new), len(wanted) - len(new)


# ----------------------------------------------------------------------------- rosters


@dataclass
class RosterResult:
    created: int = 0
    existed: int = 0
    past: int = 0  # rounds whose window had ended when the roster was made: not created
    compounds: int = 0

    def line(self) -> str:
        return f"created {self.created} rounds, {self.existed} already existed"


def _pools(compound_ids: Sequence[int], team_ids: set[int]) -> tuple[dict, dict]:
    """Who takes rounds in turn: per compound, the members of the cleaning teams serving it
    (or of every team serving it when none cleans); per team named on an area, its members.
    Two queries whatever the number of compounds."""
    cleaners: dict[int, list[int]] = defaultdict(list)
    others: dict[int, list[int]] = defaultdict(list)
    served = (
        Team.compounds.through.objects.filter(compound_id__in=compound_ids)
        .filter(team__memberships__isnull=False)
        .values_list("compound_id", "team__kind", "team__memberships__volunteer_id")
        .order_by("compound_id", "team__memberships__volunteer_id")
    )
    for compound_id, kind, volunteer_id in served.iterator(chunk_size=20_000):
        pool = cleaners if kind == TeamKind.CLEANING else others
        if volunteer_id not in pool[compound_id]:
            pool[compound_id].append(volunteer_id)
    by_compound = {c: cleaners.get(c) or others.get(c) or [] for c in compound_ids}
    by_team: dict[int, list[int]] = defaultdict(list)
    for team_id, volunteer_id in (
        Membership.objects.filter(team_id__in=team_ids)
        .order_by("team_id", "volunteer_id")
        .values_list("team_id", "volunteer_id")
    ):
        by_team[team_id].append(volunteer_id)
    return by_compound, by_team


def _roster_rows(
    day: datetime.date, compound_ids: Sequence[int], now: datetime.datetime, result: RosterResult
) -> Iterator[tuple]:
    """The day's rounds of these compounds, as Round rows (area, compound, date, due, window
    end, cleaner). A compound's rounds go round its pool in time order, starting one further
    each day, so the same cleaner does not always get the 07:00 gate."""
    areas = list(
        Area.objects.filter(compound_id__in=compound_ids, active=True)
        .order_by("compound_id", "id")
        .values_list("id", "compound_id", "team_id", "times", "window_minutes")
    )
    by_compound, by_team = _pools(compound_ids, {a[2] for a in areas if a[2]})
    slots: dict[tuple[str, int], tuple[datetime.datetime, datetime.datetime]] = {}
    turn = day.toordinal()
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for area_id, compound_id, team_id, times, window in areas:
        for at in times:
            key = (at, window)
            if key not in slots:
                due = _aware(day, rules.parse_time(at))
                slots[key] = (due, due + datetime.timedelta(minutes=window))
            grouped[compound_id].append((slots[key][0], area_id, team_id, *slots[key]))
    for compound_id, rounds in grouped.items():
        rounds.sort()
        counters: dict[int | None, int] = defaultdict(int)
        for _due, area_id, team_id, due, ends in rounds:
            if ends <= now:
                result.past += 1
                continue
            pool = by_team.get(team_id) if team_id else None
            pool = pool or by_compound.get(compound_id) or []
            assignee = None
            if pool:
                n = counters[team_id]
                counters[team_id] += 1
                assignee = pool[(turn + n) % len(pool)]
            yield (area_id, compound_id, day, due, ends, assignee)


ROSTER_FIELDS = ("area_id", "compound_id", "date", "due_at", "window_ends_at", "assignee_id")
ROSTER_CHUNK = 2000  # compounds per pass: memory stays flat at city scale


def rosters_generate(
    *,
    day: datetime.date,
    compounds: Iterable[int] | None = None,
    now: datetime.datetime | None = None,
    any_status: bool = False,
) -> RosterResult:
    """Create the day's rounds for every compound whose status needs them (or for the given
    compound ids among those), each once: a unique constraint on (area, due_at) skips rounds
    that exist, so a second run, a run after downtime and "generate now" are all safe.
    A round whose window has already ended is not created (a compound sealed at 15:00 does
    not start with the morning's rounds missed). `any_status`: the secretary's "generate now"
    for one compound whatever its status. Refused: a day in the past or too far ahead.
    """
    now = now or timezone.now()
    rules.check_roster_date(day, timezone.localdate(now))
    result = RosterResult()
    needed = Compound.objects.all()
    if not any_status:
        needed = needed.filter(status__in=rules.roster_statuses())
    if compounds is not None:
        needed = needed.filter(pk__in=list(compounds))
    ids = list(needed.order_by("pk").values_list("pk", flat=True))
    result.compounds = len(ids)
    for start in range(0, len(ids), ROSTER_CHUNK):
        block = ids[start : start + ROSTER_CHUNK]
        rows = list(_roster_rows(day, block, now, result))
        with transaction.atomic():
            if pgcopy.available():
                created = pgcopy.insert_new(Round, ROSTER_FIELDS, rows)
            else:
                before = Round.objects.filter(compound_id__in=block, date=day).count()
                Round.objects.bulk_create(
                    [Round(**dict(zip(ROSTER_FIELDS, row, strict=True))) for row in rows],
                    batch_size=2000,
                    ignore_conflicts=True,
                )
                created = Round.objects.filter(compound_id__in=block, date=day).count() - before
        result.created += created
        result.existed += len(rows) - created
    if result.created:
        # The day's 200,000 rounds into a table the planner thinks empty (the morning after a
        # purge, or a first day) would have the pages' GROUP BYs planned as nested loops.
        pgcopy.analyze_if_stale({Round: result.created})
    return result


def rosters_catch_up(*, now: datetime.datetime | None = None) -> RosterResult:
    """Today's rounds for compounds that have areas but no round today: one sealed since the
    morning run, or every compound after the worker was down at roster time. Nothing before
    the roster time (WUYI_ROSTER_TIME, Asia/Shanghai). Cheap when nothing is missing (one
    query)."""
    now = now or timezone.now()
    if timezone.localtime(now).time() < rules.roster_time():
        # Before the day's roster is due (05:00) there is nothing to make up: at 00:07 every
        # compound "has no round today" and would get its roster hours early.
        return RosterResult()
    today = timezone.localdate(now)
    have = Round.objects.filter(date=today).values("compound_id")
    missing = (
        Area.objects.filter(active=True, compound__status__in=rules.roster_statuses())
        .exclude(compound_id__in=have)
        .values_list("compound_id", flat=True)
        .distinct()
    )
    ids = list(missing)
    if not ids:
        return RosterResult()
    return rosters_generate(day=today, compounds=ids, now=now)


# ----------------------------------------------------------------------------- rounds


def _check_cleaner(volunteer: Volunteer | None, compound: Compound) -> None:
    if volunteer is None:
        return
    serves = Team.compounds.through.objects.filter(
        compound_id=compound.pk, team__memberships__volunteer=volunteer
    ).exists()
    if not serves:
        raise Refused(
            _("%(name)s is in no team that serves %(compound)s.")
            % {"name": volunteer.name, "compound": compound},
            field="assignee",
        )


def round_add(
    *,
    by: User,
    area: Area,
    day: datetime.date,
    at: Any,
    assignee: Volunteer | None = None,
) -> Round:
    """An extra round (after a positive case in the building, say). Refused: a day in the
    past, a time that is not one, a round at that time already, a cleaner who does not serve
    the compound."""
    _require_organiser(by)
    rules.check_roster_date(day, timezone.localdate())
    due = _aware(day, rules.parse_time(at))
    _check_cleaner(assignee, area.compound)
    try:
        with transaction.atomic():
            return Round.objects.create(
                area=area,
                compound_id=area.compound_id,
                date=day,
                due_at=due,
                window_ends_at=due + datetime.timedelta(minutes=area.window_minutes),
                assignee=assignee,
                added_by=by,
            )
    except IntegrityError:
        raise Refused(_("This area has a round at that time already."), field="at") from None


def round_reassign(*, by: User, round: Round, assignee: Volunteer | None) -> Round:
    """Give a round to another cleaner (or to nobody); a done round keeps its record."""
    _require_organiser(by)
    if round.done_at is not None:
        raise Refused(_("This round is done; its record stays as it is."))
    _check_cleaner(assignee, round.compound)
    round.assignee = assignee
    # The new cleaner has not been reminded yet.
    round.reminded_at = None
    round.save(update_fields=["assignee", "reminded_at"])
    return round


def timing_of(round: Round, at: datetime.datetime) -> str:
    if at < round.due_at:
        return Timing.EARLY
    if at > round.window_ends_at:
        return Timing.LATE
    return Timing.ON_TIME


def round_mark_done(*, user: Any, round: Round, photo: Any = None, note: Any = "") -> Round:
    """The cleaner did the round: time, person and an optional photo, once. Done outside its
    window it is recorded early or late, not refused; a second tap changes nothing."""
    if not rules.may_do(user, round):
        raise PermissionDenied(_("Only the compound's cleaners mark its rounds done."))
    try:
        note = cn.clean_text(note, max_length=200, field="note")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="note") from None
    extension = photos.check_photo(photo) if photo is not None else ""
    now = timezone.now()
    with transaction.atomic():
        # The row lock makes two taps (two phones, a double submit) record one completion.
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.done_at is not None:
            return locked
        locked.done_at, locked.done_by = now, user
        locked.timing = timing_of(locked, now)
        locked.note = note
        if photo is not None:
            locked.photo.save(f"round-{locked.pk}.{extension}", photo, save=False)
        locked.save(update_fields=["done_at", "done_by", "timing", "note", "photo"])
    return locked


# A round this close to starting is taken as the one being done (a cleaner a little early).
EARLY_TAKE = datetime.timedelta(minutes=30)


def current_round(area: Area, now: datetime.datetime | None = None) -> Round | None:
    """The round a scan of the area's code is about, among today's: the open one whose window
    holds now; else an open one starting within half an hour; else the latest open one that
    has started (done late); else the next one; else the last one done. A missed round stays
    missed: one disinfection at 13:30 does not count for 08:00 and 12:00. Today is the day in
    Asia/Shanghai, with yesterday's round whose window runs past midnight (scanned at 00:10,
    the 23:30 round open until 00:30 is the one being done)."""
    now = now or timezone.now()
    today = list(selectors.area_rounds(area, timezone.localdate(now)))
    open_rounds = [r for r in today if r.done_at is None]
    for r in open_rounds:
        if r.due_at <= now < r.window_ends_at:
            return r
    upcoming = [r for r in open_rounds if r.due_at > now]
    if upcoming and upcoming[0].due_at - now <= EARLY_TAKE:
        return upcoming[0]
    started = [r for r in open_rounds if r.due_at <= now]
    if started:
        return started[-1]
    if upcoming:
        return upcoming[0]
    return today[-1] if today else None


# ----------------------------------------------------------------------------- overdue


@dataclass
class ReminderResult:
    cleaners: int = 0
    secretaries: int = 0
    rounds_escalated: int = 0

    def line(self) -> str:
        return (
            f"reminded {self.cleaners} cleaners, {self.secretaries} secretaries "
            f"about {self.rounds_escalated} rounds"
        )


def _secretaries(community_ids: Iterable[int]) -> dict[int, list[User]]:
    """The secretaries posted to each community (the ones who get the escalation)."""
    found: dict[int, list[User]] = defaultdict(list)
    postings = Posting.objects.filter(
        community_id__in=list(community_ids),
        user__role=Role.SECRETARY,
        user__is_active=True,
    ).select_related("user")
    for posting in postings:
        if posting.community_id is not None:
            found[posting.community_id].append(posting.user)
    return found


def rounds_remind_overdue(*, now: datetime.datetime | None = None) -> ReminderResult:
    """Remind the cleaner of each round past its window, once; a further
    WUYI_OVERDUE_ESCALATE_MINUTES later, tell the community secretary, once, one message per
    compound. Each round is claimed by setting reminded_at / escalated_at under
    SELECT ... FOR UPDATE SKIP LOCKED in the same transaction as the message is queued, so two
    sweeps at once (or a sweep run by hand) never remind twice."""
    now = now or timezone.now()
    result = ReminderResult()
    delay = datetime.timedelta(minutes=settings.WUYI_OVERDUE_ESCALATE_MINUTES)
    horizon = now - datetime.timedelta(days=1)  # older ones are history, not reminders
    with transaction.atomic():
        due = list(
            Round.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                done_at__isnull=True,
                reminded_at__isnull=True,
                escalated_at__isnull=True,
                window_ends_at__lte=now,
                window_ends_at__gt=horizon,
            )
            .select_related("area", "compound", "assignee")
            .order_by("window_ends_at")[: settings.WUYI_OVERDUE_BATCH]
        )
        Round.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
        for r in due:
            if r.assignee is None or not r.assignee.phone:
                continue
            result.cleaners += notify.round_overdue(r)
    with transaction.atomic():
        late = list(
            Round.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                done_at__isnull=True,
                escalated_at__isnull=True,
                window_ends_at__gt=horizon,
            )
            .filter(
                Q(reminded_at__lte=now - delay)
                | Q(reminded_at__isnull=True, window_ends_at__lte=now - delay)
            )
            .select_related("area", "compound")
            .order_by("window_ends_at")[: settings.WUYI_OVERDUE_BATCH]
        )
        Round.objects.filter(pk__in=[r.pk for r in late]).update(escalated_at=now)
        per_compound: dict[int, list[Round]] = defaultdict(list)
        for r in late:
            per_compound[r.compound_id].append(r)
        secretaries = _secretaries({r.compound.community_id for r in late})
        for rounds in per_compound.values():
            compound = rounds[0].compound
            for secretary in secretaries.get(compound.community_id, []):
                if secretary.phone:
                    result.secretaries += notify.rounds_escalated(secretary, compound, rounds)
        result.rounds_escalated = len(late)
    return result


# ----------------------------------------------------------------------------- medical waste


def waste_record_save(
    *,
    by: User,
    area: Area,
    day: datetime.date,
    bags: Any,
    handed_to: Any = "",
    handed_at: datetime.datetime | None = None,
    cleared: bool = False,
    weight_kg: Any = None,
    note: Any = "",
) -> WasteRecord:
    """The bin's record for the day, created or changed. Refused: a bin that is not a
    medical-waste bin, a count out of range, cleared without saying to whom and when, a day
    in the future."""
    if not (rules.may_organise(by) or rules.serves(by, area.compound_id)):
        raise PermissionDenied(_("Only the compound's cleaners and secretary keep this log."))
    errors: dict[str, Any] = {}
    if area.kind != AreaKind.MEDICAL_WASTE:
        errors["area"] = _("Only medical-waste bins have a waste log.")
    try:
        bags = int(bags)
        if not 0 <= bags <= rules.MAX_BAGS:
            raise ValueError
    except (TypeError, ValueError):
        errors["bags"] = _("Between 0 and %(max)d bags.") % {"max": rules.MAX_BAGS}
    try:
        handed_to = cn.clean_text(handed_to, max_length=60, field="handed_to")
        note = cn.clean_text(note, max_length=200, field="note")
    except cn.NormalizeError as exc:
        errors[exc.field or "note"] = exc.message
    if day > timezone.localdate():
        errors["date"] = _("The log is kept for today or earlier days.")
    if cleared and (not handed_to or handed_at is None):
        errors["handed_to"] = _("Cleared means handed over: say to whom and when.")
    if handed_at is not None and handed_at > timezone.now() + datetime.timedelta(minutes=5):
        errors["handed_at"] = _("The hand-over time is in the future.")
    if errors:
        raise Refused.of_fields(errors)
    with transaction.atomic():
        record, _created = WasteRecord.objects.select_for_update().get_or_create(
            area=area, date=day, defaults={"compound_id": area.compound_id}
        )
        record.bags, record.weight_kg, record.note = bags, weight_kg, note
        record.handed_to, record.handed_at, record.cleared = handed_to, handed_at, cleared
        record.collected_by = record.collected_by or by
        record.save()
    return record
