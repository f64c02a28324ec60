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
from messaging.models import Message
from volunteers.models import Membership, Team, TeamKind, Volunteer
from wuyi.lib import cn, pgcopy, photos
from wuyi.lib.errors import Refused
from wuyi.lib.localday import aware

from . import notify, rules, selectors
from .models import Area, AreaKind, CheckIn, Method, Round, Timing, WasteRecord, new_qr_key


def _require_organiser(user: Any) -> None:
    if not rules.may_organise(user):
        raise PermissionDenied(_("Disinfection is organised by the community secretary."))


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
                due = aware(day, rules.parse_time(at))
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
    due = aware(day, rules.parse_time(at))
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


def round_mark_done(
    *,
    by: Any,
    round: Round,
    qr: Any = "",
    override_reason: Any = "",
    photo: Any = None,
    note: Any = "",
) -> Round:
    """The cleaner did the round, proved by the code next to its area (`qr`: the token, or
    the address the code opens): time, person and an optional photo, once. Without the code,
    the community secretary may mark it done giving `override_reason` (recorded). Done outside
    its window it is recorded early or late, not refused; a second tap changes nothing.
    Refused: no code or not the area's current one, an override without a reason, a round of
    another day (Asia/Shanghai; rules.check_round_day). Forbidden: someone who does not
    serve the compound, an override by anyone but the secretary."""
    if not rules.may_do(by, round):
        raise PermissionDenied(_("Only the compound's cleaners mark its rounds done."))
    now = timezone.now()
    try:
        note = cn.clean_text(note, max_length=200, field="note")
        reason = cn.clean_text(override_reason, max_length=200, field="override_reason")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field=exc.field or "note") from None
    if qr:
        if not rules.qr_matches(round.area, qr):
            raise Refused(rules.MSG_QR_WRONG, field="qr")
        check_in = CheckIn.QR
    elif override_reason:
        if not rules.may_override(by):
            raise PermissionDenied(rules.MSG_NOT_SECRETARY)
        if not reason:
            raise Refused(rules.MSG_REASON, field="override_reason")
        check_in = CheckIn.OVERRIDE
    else:
        raise Refused(rules.MSG_SCAN, field="qr")
    rules.check_round_day(round, now)
    # Re-encoded before the transaction: no metadata, bounded pixels (wuyi.lib.photos).
    cleaned = photos.clean_photo(photo) if photo is not None else None
    with transaction.atomic():
        # The row lock makes two taps (two phones, a double submit) record one completion.
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.done_at is not None:
            return locked
        locked.done_at, locked.done_by = now, by
        locked.timing = timing_of(locked, now)
        locked.note = note
        locked.check_in = check_in
        locked.override_reason = reason if check_in == CheckIn.OVERRIDE else ""
        if cleaned is not None:
            locked.photo.save(f"round-{locked.pk}.jpg", cleaned, save=False)
        locked.save(
            update_fields=[
                "done_at",
                "done_by",
                "timing",
                "note",
                "check_in",
                "override_reason",
                "photo",
            ]
        )
    return locked


def area_qr_rotate(*, by: User, area: Area) -> Area:
    """A new code for the area: the printed sheet stops working (it was photographed, copied
    or put up elsewhere); print the new one and put it up in its place."""
    _require_organiser(by)
    area.qr_key = new_qr_key()
    area.qr_rotated_at = timezone.now()
    Area.objects.filter(pk=area.pk).update(qr_key=area.qr_key, qr_rotated_at=area.qr_rotated_at)
    return area


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


# Rounds claimed per transaction: a claim holds its rounds' locks for one UPDATE, never for
# the SMS (queued after the commit).
SWEEP_CHUNK = 200
# A claim this old whose SMS is missing belongs to a sweep that died between its commit and its
# send: the next sweep queues it (the key makes it once). Younger ones may still be on their way.
RESEND_AFTER = datetime.timedelta(minutes=2)
RESEND_WINDOW = datetime.timedelta(minutes=30)


def rounds_remind_overdue(*, now: datetime.datetime | None = None) -> ReminderResult:
    """Remind the cleaner of each round past its window, once; a further
    WUYI_OVERDUE_ESCALATE_MINUTES later, tell the community secretary, once, one message per
    compound.

    Rounds are claimed a few hundred at a time, each in a small transaction (SELECT ... FOR
    UPDATE SKIP LOCKED, then reminded_at / escalated_at set and committed), and their SMS are
    queued after that commit, a chunk's together. Nothing of the SMS outbox or its budget is
    locked while rounds are, so two sweeps at once (beat and `remind_overdue` by hand) neither
    wait for nor deadlock each other, and a round one claims the other skips. Every message's
    key names its round, so a sweep that died between a claim and its SMS is made good by the
    next one (it queues what is missing of recent claims) and nothing goes twice."""
    now = now or timezone.now()
    result = ReminderResult()
    delay = datetime.timedelta(minutes=settings.WUYI_OVERDUE_ESCALATE_MINUTES)
    horizon = now - datetime.timedelta(days=1)  # older ones are history, not reminders
    left = settings.WUYI_OVERDUE_BATCH
    while left > 0:
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
                .select_related("area", "compound", "assignee__user")
                .order_by("window_ends_at", "pk")[: min(SWEEP_CHUNK, left)]
            )
            Round.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
        if not due:
            break
        left -= len(due)
        result.cleaners += notify.rounds_overdue(due)
    late = (
        Round.objects.filter(
            done_at__isnull=True,
            escalated_at__isnull=True,
            window_ends_at__gt=horizon,
        )
        .filter(
            Q(reminded_at__lte=now - delay)
            | Q(reminded_at__isnull=True, window_ends_at__lte=now - delay)
        )
        .order_by()
    )
    compounds = dict(
        Compound.objects.filter(pk__in=late.values("compound_id")).values_list("pk", "community_id")
    )
    secretaries = _secretaries(set(compounds.values()))
    left = settings.WUYI_OVERDUE_BATCH
    for compound_id in sorted(compounds):
        if left <= 0:
            break
        with transaction.atomic():
            rounds = list(
                late.filter(compound_id=compound_id)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("area", "compound")
                .order_by("window_ends_at", "pk")[:left]
            )
            Round.objects.filter(pk__in=[r.pk for r in rounds]).update(escalated_at=now)
        if not rounds:
            continue
        left -= len(rounds)
        result.rounds_escalated += len(rounds)
        result.secretaries += _escalate(rounds, secretaries.get(compounds[compound_id], []))
    resent = _resend_missing(now=now)
    result.cleaners += resent.cleaners
    result.secretaries += resent.secretaries
    return result


def _escalate(rounds: Sequence[Round], secretaries: Sequence[User]) -> int:
    """Tell each secretary which of one compound's rounds are still not done: by SMS, or with
    no phone in the app and through the sub-district; a community with none: the staff above."""
    compound = rounds[0].compound
    if not secretaries:
        notify.rounds_escalated_without_secretary(compound, rounds)
        return 0
    return sum(notify.rounds_escalated(secretary, compound, rounds) for secretary in secretaries)


def _resend_missing(*, now: datetime.datetime) -> ReminderResult:
    """Claims of the last half hour (older than RESEND_AFTER) whose SMS were never queued:
    queued now. Keys already used are skipped, so what went out does not go again."""
    since, until = now - RESEND_WINDOW, now - RESEND_AFTER
    result = ReminderResult()
    reminded = list(
        Round.objects.filter(
            done_at__isnull=True,
            escalated_at__isnull=True,
            reminded_at__gte=since,
            reminded_at__lt=until,
            assignee__isnull=False,
        )
        .exclude(assignee__phone="")
        .select_related("area", "compound", "assignee__user")
    )
    if reminded:
        result.cleaners = notify.rounds_overdue(reminded)
    escalated: dict[tuple[int, datetime.datetime], list[Round]] = defaultdict(list)
    for r in (
        Round.objects.filter(escalated_at__gte=since, escalated_at__lt=until)
        .select_related("area", "compound")
        .order_by("pk")
    ):
        escalated[(r.compound_id, r.escalated_at)].append(r)  # type: ignore[index]
    if not escalated:
        return result
    secretaries = _secretaries({rounds[0].compound.community_id for rounds in escalated.values()})
    wanted = {
        notify.escalated_key(secretary, rounds[0].compound_id, rounds): (secretary, rounds)
        for rounds in escalated.values()
        for secretary in secretaries.get(rounds[0].compound.community_id, [])
        if secretary.phone
    }
    sent = set(
        Message.objects.filter(idempotency_key__in=list(wanted)).values_list(
            "idempotency_key", flat=True
        )
    )
    for key, (secretary, rounds) in wanted.items():
        if key not in sent:
            result.secretaries += notify.rounds_escalated(secretary, rounds[0].compound, rounds)
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
