"""Writes on teams, volunteers and shifts. Every posting a team gives its members, every shift
and every check-in goes through here; views, the API, the import and seed_demo call these."""

import datetime
import hashlib
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from compounds.models import Community, Compound, Posting
from wuyi.lib import cn, pgcopy
from wuyi.lib.errors import Refused
from wuyi.lib.localday import aware

from . import rules
from .models import (
    LOGIN_LINK_LIFETIME,
    Assignment,
    LoginLink,
    Membership,
    PartyBranch,
    Shift,
    ShiftTemplate,
    Team,
    Volunteer,
)


def _require_organiser(user: Any) -> None:
    if not rules.may_organise(user):
        raise PermissionDenied(_("Your role may not organise volunteers."))


# ----------------------------------------------------------------------------- postings


def _sync_postings(team: Team) -> None:
    """Make the postings this team gives equal to (members × compounds served): a member sees
    exactly the compounds their teams serve, and loses one when the last team serving it for
    them lets it go. Postings made by hand or by other teams are left alone."""
    via = team.posting_via
    users = list(team.memberships.values_list("volunteer__user_id", flat=True))
    compounds = list(team.compounds.values_list("pk", flat=True))
    wanted = {(u, c) for u in users for c in compounds}
    have = set(Posting.objects.filter(via=via).values_list("user_id", "compound_id"))
    Posting.objects.filter(via=via).exclude(user_id__in=users, compound_id__in=compounds).delete()
    Posting.objects.bulk_create(
        [Posting(user_id=u, compound_id=c, via=via) for u, c in sorted(wanted - have)]
    )


# ----------------------------------------------------------------------------- volunteers


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_link_create(*, by: User | None, volunteer: Volunteer) -> str:
    """A new one-time login token for the volunteer (earlier unused ones stop working).
    Returns the token; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        LoginLink.objects.filter(volunteer=volunteer, used_at__isnull=True).update(
            expires_at=timezone.now()
        )
        LoginLink.objects.create(
            volunteer=volunteer,
            token_hash=_token_hash(token),
            expires_at=timezone.now() + LOGIN_LINK_LIFETIME,
            created_by=by,
        )
    return token


MSG_LINK_UNUSABLE = _(
    "This login link has expired or was already used. Ask your community secretary for a new one."
)


def login_link_use(*, token: str) -> User:
    """The account a one-time link opens, once: the link is spent in the same transaction."""
    with transaction.atomic():
        link = (
            LoginLink.objects.select_for_update()
            .select_related("volunteer__user")
            .filter(token_hash=_token_hash(token))
            .first()
        )
        if link is None or not link.usable or not link.volunteer.user.is_active:
            raise Refused(MSG_LINK_UNUSABLE)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return link.volunteer.user


def volunteer_create(
    *,
    by: User,
    community: Community,
    name: Any,
    phone: Any,
    teams: Sequence[Team] = (),
    is_party_member: bool = False,
    is_veteran: bool = False,
    role: str = Role.VOLUNTEER,
) -> tuple[Volunteer, str]:
    """Register a volunteer: an account whose user name is their phone number, with no
    password until they set one through their one-time link. Returns the volunteer and the
    link's token. Refused: a phone already registered, a team of another community."""
    _require_organiser(by)
    errors: dict[str, Any] = {}
    try:
        name = cn.clean_name(name)
    except cn.NormalizeError as exc:
        errors["name"] = exc.message
    try:
        phone = cn.normalize_phone(phone)
        if not phone:
            errors["phone"] = _("Enter the volunteer's mobile number: they log in with it.")
        elif "-" in phone:
            errors["phone"] = _("Enter a mobile number: a landline cannot log in.")
    except cn.NormalizeError as exc:
        errors["phone"] = exc.message
    if "phone" not in errors and User.objects.filter(username=phone).exists():
        errors["phone"] = _("This phone number is registered already.")
    if any(team.community_id != community.pk for team in teams):
        errors["teams"] = _("Choose teams of this community.")
    if errors:
        raise Refused.of_fields(errors)
    try:
        with transaction.atomic():
            user = User.objects.create(
                username=phone,
                role=role,
                last_name=name[:1],
                first_name=name[1:],
                phone=phone,
                password=make_password(None),
            )
            volunteer = Volunteer.objects.create(
                user=user,
                community=community,
                name=name,
                phone=phone,
                is_party_member=is_party_member,
                is_veteran=is_veteran,
            )
            for team in teams:
                Membership.objects.create(team=team, volunteer=volunteer)
                _sync_postings(team)
    except IntegrityError:
        raise Refused(_("This phone number is registered already."), field="phone") from None
    return volunteer, login_link_create(by=by, volunteer=volunteer)


MAX_LIST_BYTES = 5 * 1024 * 1024


def volunteers_import(
    *, by: User, community: Community, upload: Any, skip_bad_rows: bool = False
) -> dict[str, Any]:
    """Register a list of volunteers (姓名, 手机, 所属队伍, 党员, 退役军人). All or nothing: with
    a bad row and skip_bad_rows off nothing is written and the report names every bad cell.
    The uploaded file is deleted whatever happens. Returns the report, with each new
    volunteer's one-time link token."""
    from . import importing

    _require_organiser(by)
    if upload.size > MAX_LIST_BYTES:
        raise Refused(_("The file is larger than 5 MB; split the list."), field="file")
    suffix = Path(upload.name).suffix.lower()
    if suffix not in (".xlsx", ".xls", ".csv", ".txt"):
        raise Refused(_("Upload an xlsx or csv file."), field="file")
    with tempfile.NamedTemporaryFile(suffix=suffix) as spool:
        for chunk in upload.chunks():
            spool.write(chunk)
        spool.flush()
        good, errors, total = importing.parse(spool.name, community_id=community.pk)
    report: dict[str, Any] = {
        "total": total,
        "errors": [e.as_dict() for e in errors],
        "bad_rows": len({e.row for e in errors}),
        "created": [],
    }
    if errors and not skip_bad_rows:
        return report
    with transaction.atomic():
        for row in good:
            row = {k: v for k, v in row.items() if k != "row"}
            volunteer, token = volunteer_create(by=by, community=community, **row)
            report["created"].append((volunteer, token))
    return report


# ----------------------------------------------------------------------------- teams


def team_save(
    *,
    by: User,
    community: Community,
    name: Any,
    kind: str,
    compounds: Sequence[Compound] = (),
    leader: Volunteer | None = None,
    team: Team | None = None,
) -> Team:
    """Create or change a team; the compounds it serves are written into its members'
    postings in the same transaction."""
    _require_organiser(by)
    try:
        name = cn.clean_text(name, max_length=60, field="name")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="name") from None
    if not name:
        raise Refused(_("Give the team a name."), field="name")
    if any(c.community_id != community.pk for c in compounds):
        raise Refused(_("A team serves compounds of its own community."), field="compounds")
    if leader is not None and leader.community_id != community.pk:
        raise Refused(_("Choose a leader of this community."), field="leader")
    clash = Team.objects.filter(community=community, name=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise Refused(_("The community has a team of that name already."), field="name")
    with transaction.atomic():
        team = team or Team(community=community)
        team.name, team.kind, team.leader = name, kind, leader
        team._history_user = by  # type: ignore[attr-defined]
        team.save()
        team.compounds.set(compounds)
        if leader is not None:
            Membership.objects.update_or_create(
                team=team, volunteer=leader, defaults={"role": Membership.Role.LEADER}
            )
        _sync_postings(team)
    return team


def team_add_member(
    *, by: User, team: Team, volunteer: Volunteer, role: str = Membership.Role.MEMBER
) -> Membership:
    """Put a volunteer in a team: they see the compounds it serves at once."""
    _require_organiser(by)
    if volunteer.community_id != team.community_id:
        raise Refused(_("Choose a volunteer of this community."), field="volunteer")
    with transaction.atomic():
        membership, _created = Membership.objects.update_or_create(
            team=team, volunteer=volunteer, defaults={"role": role}
        )
        _sync_postings(team)
    return membership


def team_remove_member(*, by: User, team: Team, volunteer: Volunteer) -> None:
    """Take a volunteer out of a team: they lose what only this team gave them, and their
    future shifts at compounds they no longer serve."""
    _require_organiser(by)
    with transaction.atomic():
        Membership.objects.filter(team=team, volunteer=volunteer).delete()
        _sync_postings(team)
        served = _served_compounds(volunteer)
        Assignment.objects.filter(
            volunteer=volunteer, shift__starts_at__gt=timezone.now(), checked_in_at__isnull=True
        ).exclude(shift__compound_id__in=served).delete()


def _served_compounds(volunteer: Volunteer) -> set[int]:
    return set(
        Team.compounds.through.objects.filter(team__memberships__volunteer=volunteer).values_list(
            "compound_id", flat=True
        )
    )


def branch_save(
    *,
    by: User,
    community: Community,
    name: Any,
    compound: Compound | None = None,
    secretary: Volunteer | None = None,
    members: Sequence[Volunteer] = (),
    online: bool = False,
    chat_group: Any = "",
    branch: PartyBranch | None = None,
) -> PartyBranch:
    """Create or change a temporary party branch (临时党支部)."""
    _require_organiser(by)
    errors: dict[str, Any] = {}
    try:
        name = cn.clean_text(name, max_length=80, field="name")
        chat_group = cn.clean_text(chat_group, max_length=80, field="chat_group")
    except cn.NormalizeError as exc:
        errors[exc.field or "name"] = exc.message
    if not name:
        errors["name"] = _("Give the branch a name.")
    if compound is not None and compound.community_id != community.pk:
        errors["compound"] = _("Choose a compound of this community.")
    people = [*members, *([secretary] if secretary else [])]
    if any(v.community_id != community.pk for v in people):
        errors["members"] = _("Choose volunteers of this community.")
    if errors:
        raise Refused.of_fields(errors)
    with transaction.atomic():
        branch = branch or PartyBranch(community=community)
        branch.name, branch.compound, branch.secretary = name, compound, secretary
        branch.online, branch.chat_group = online, chat_group
        branch.save()
        branch.members.set(people)
    return branch


# ----------------------------------------------------------------------------- shifts


def shift_template_save(
    *,
    by: User,
    compound: Compound,
    name: Any,
    starts: datetime.time,
    ends: datetime.time,
    needed: int = 2,
    template: ShiftTemplate | None = None,
) -> ShiftTemplate:
    _require_organiser(by)
    errors: dict[str, Any] = {}
    try:
        name = cn.clean_text(name, max_length=40, field="name")
    except cn.NormalizeError as exc:
        errors["name"] = exc.message
    if not name:
        errors["name"] = _("Give the shift a name, e.g. 门岗 or 配送.")
    if ends <= starts:
        errors["ends"] = rules.MSG_SHIFT_ORDER
    if not 1 <= needed <= 50:
        errors["needed"] = _("Between 1 and 50 people.")
    if errors:
        raise Refused.of_fields(errors)
    template = template or ShiftTemplate(compound=compound)
    template.name, template.starts, template.ends, template.needed = name, starts, ends, needed
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise Refused(_("The compound has a shift of that name already."), field="name") from None
    return template


def shifts_apply(
    *,
    by: User,
    templates: Sequence[ShiftTemplate],
    first: datetime.date,
    last: datetime.date,
) -> tuple[int, int]:
    """Create the templates' shifts for every day from `first` to `last`, in one statement per
    few thousand rows; a shift that exists (same template, same day) is left as it is, so
    applying a week twice creates each shift once. Returns (created, already existed)."""
    _require_organiser(by)
    days = (last - first).days + 1
    if not 1 <= days <= rules.MAX_PLAN_DAYS:
        raise Refused(rules.MSG_PLAN_RANGE % {"days": rules.MAX_PLAN_DAYS}, field="last")
    wanted = [
        (
            t.compound_id,
            t.pk,
            t.name,
            day,
            aware(day, t.starts),
            aware(day, t.ends),
            t.needed,
        )
        for t in templates
        for day in (first + datetime.timedelta(days=n) for n in range(days))
    ]
    fields = ("compound_id", "template_id", "name", "date", "starts_at", "ends_at", "needed")
    with transaction.atomic():
        if pgcopy.available():
            created = pgcopy.insert_new(Shift, fields, wanted)
        else:
            before = Shift.objects.filter(template__in=templates, date__range=(first, last)).count()
            Shift.objects.bulk_create(
                [Shift(**dict(zip(fields, row, strict=True))) for row in wanted],
                batch_size=2000,
                ignore_conflicts=True,
            )
            created = (
                Shift.objects.filter(template__in=templates, date__range=(first, last)).count()
                - before
            )
        # A city's week (84,000 shifts) into a table the planner thinks empty would have the
        # duty page's GROUP BYs planned as nested loops.
        pgcopy.analyze_if_stale({Shift: created})
    return created, len(wanted) - created


def shift_create(
    *,
    by: User,
    compound: Compound,
    name: Any,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    needed: int = 1,
) -> Shift:
    """A one-off shift (not from a template)."""
    _require_organiser(by)
    if ends_at <= starts_at:
        raise Refused(rules.MSG_SHIFT_ORDER, field="ends_at")
    if ends_at - starts_at > datetime.timedelta(hours=rules.MAX_SHIFT_HOURS):
        raise Refused(
            _("A shift lasts at most %(hours)d hours.") % {"hours": rules.MAX_SHIFT_HOURS},
            field="ends_at",
        )
    try:
        name = cn.clean_text(name, max_length=40, field="name")
    except cn.NormalizeError as exc:
        raise Refused(exc.message, field="name") from None
    return Shift.objects.create(
        compound=compound,
        name=name or _("Duty"),
        date=timezone.localtime(starts_at).date(),
        starts_at=starts_at,
        ends_at=ends_at,
        needed=needed,
    )


def shift_assign(*, by: User, shift: Shift, volunteer: Volunteer) -> Assignment:
    """Put a volunteer on a shift. Refused when none of their teams serves the compound, or
    when they are on another shift at the same time (the message names it). A second
    assignment of the same volunteer to the same shift returns the first."""
    _require_organiser(by)
    with transaction.atomic():
        # One assignment at a time per volunteer: two organisers cannot double-book them.
        Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        existing = Assignment.objects.filter(shift=shift, volunteer=volunteer).first()
        if existing is not None:
            return existing
        if shift.compound_id not in _served_compounds(volunteer):
            raise Refused(
                _("%(name)s is in no team that serves %(compound)s.")
                % {"name": volunteer.name, "compound": shift.compound},
                field="volunteer",
            )
        clash = (
            Assignment.objects.filter(
                volunteer=volunteer,
                shift__starts_at__lt=shift.ends_at,
                shift__ends_at__gt=shift.starts_at,
            )
            .select_related("shift__compound")
            .first()
        )
        if clash is not None:
            raise Refused(
                _("%(name)s is already on %(shift)s at %(compound)s, which overlaps.")
                % {
                    "name": volunteer.name,
                    "shift": clash.shift,
                    "compound": clash.shift.compound,
                },
                field="volunteer",
            )
        return Assignment.objects.create(shift=shift, volunteer=volunteer, assigned_by=by)


# A check-in this long before the shift starts is refused (the volunteer is early, not on it).
CHECK_IN_EARLY = datetime.timedelta(hours=1)


def check_in(*, by: User, assignment: Assignment) -> Assignment:
    """The volunteer arrives: once (a second tap changes nothing)."""
    if assignment.volunteer.user_id != by.pk and not rules.may_organise(by):
        raise PermissionDenied(_("Only the volunteer on the shift checks in."))
    now = timezone.now()
    if now < assignment.shift.starts_at - CHECK_IN_EARLY:
        raise Refused(
            _("The shift starts at %(time)s: check in when you arrive.")
            % {"time": timezone.localtime(assignment.shift.starts_at).strftime("%m-%d %H:%M")}
        )
    updated = Assignment.objects.filter(pk=assignment.pk, checked_in_at__isnull=True).update(
        checked_in_at=now
    )
    if updated:
        assignment.checked_in_at = now
    else:
        assignment.refresh_from_db()
    return assignment


def check_out(*, by: User, assignment: Assignment) -> Assignment:
    """The volunteer leaves: after checking in, once."""
    if assignment.volunteer.user_id != by.pk and not rules.may_organise(by):
        raise PermissionDenied(_("Only the volunteer on the shift checks out."))
    if assignment.checked_in_at is None:
        raise Refused(_("Check in first."))
    now = timezone.now()
    updated = Assignment.objects.filter(pk=assignment.pk, checked_out_at__isnull=True).update(
        checked_out_at=now
    )
    if updated:
        assignment.checked_out_at = now
    else:
        assignment.refresh_from_db()
    return assignment


# ----------------------------------------------------------------------------- unstaffed shifts


def shifts_alert_unstaffed(*, now: datetime.datetime | None = None) -> int:
    """Alert the secretaries of every shift that starts within the next
    WUYI_UNSTAFFED_ALERT_HOURS (or has started and not ended) with fewer people than it needs,
    once per shift (the alert's key). Beat runs it every quarter of an hour; shifts already
    alerted cost one query together. Returns how many shifts were alerted."""
    from accounts.models import Alert

    from . import notify

    now = now or timezone.now()
    horizon = now + datetime.timedelta(hours=settings.WUYI_UNSTAFFED_ALERT_HOURS)
    short = list(
        Shift.objects.filter(starts_at__lte=horizon, ends_at__gt=now)
        .annotate(staffed=Count("assignments"))
        .filter(staffed__lt=F("needed"))
        .select_related("compound")
        .order_by("starts_at", "pk")
    )
    keys = {notify.unstaffed_key(s.pk): s for s in short}
    done = set(Alert.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    alerted = 0
    for key, shift in keys.items():
        if key in done:
            continue
        with transaction.atomic():
            notify.shift_unstaffed(shift, staffed=shift.staffed)
        alerted += 1
    return alerted
