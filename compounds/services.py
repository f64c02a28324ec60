"""Writes on compounds. Every control-status change goes through compound_change_status."""

import datetime
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import forget_scope
from accounts.models import User
from wuyi.lib.graphs import MoveRefused

from .models import (
    SEVERITY,
    Community,
    Compound,
    ControlStatus,
    District,
    PositiveCase,
    Posting,
    StatusChange,
    Subdistrict,
)
from .rules import CONTROL, may_change_status
from .signals import case_recorded, compound_moved, status_rose

REASON_MAX_LENGTH = 500


# The status change was not made; the message says why, in words a secretary understands.
# The same class as the graph's refusals, so one `except` catches both.
TransitionRefused = MoveRefused


def allowed_targets(status: str, *, by: Any = None) -> list[str]:
    """The statuses a compound in `status` may move to (by `by`), in the order of the choices."""
    return CONTROL.targets(status, by=by)


@dataclass(frozen=True)
class NewCase:
    """A new positive case reported with a status change: found on, and where if known."""

    found_on: datetime.date
    building_id: int | None = None
    note: str = ""


EARLIEST_CASE = datetime.date(2019, 12, 1)


def _check_case(compound: Compound, case: NewCase) -> None:
    today = timezone.localdate()
    if case.found_on > today:
        raise TransitionRefused(
            _("A positive case cannot be found in the future (today is %(today)s).")
            % {"today": today.isoformat()},
            field="case_date",
        )
    # The day it was registered in Shanghai: created at 07:00 there is still the day before
    # in UTC, and a case found that UTC day would pass.
    existed = timezone.localdate(compound.created_at) if compound.created_at else EARLIEST_CASE
    earliest = max(EARLIEST_CASE, existed)
    if case.found_on < earliest:
        raise TransitionRefused(
            _("The date is before %(date)s, when this compound was registered.")
            % {"date": earliest.isoformat()},
            field="case_date",
        )
    if case.building_id is not None and not compound.buildings.filter(pk=case.building_id).exists():
        raise TransitionRefused(
            _("Choose one of this compound's buildings."), field="case_building"
        )
    if len(case.note) > REASON_MAX_LENGTH:
        raise TransitionRefused(
            _("The note is too long: at most %(max)d characters.") % {"max": REASON_MAX_LENGTH},
            field="case_note",
        )


def _record_case(compound: Compound, case: NewCase, *, by: User, source: str) -> PositiveCase:
    """On a locked compound: the case, and the last positive date moved forward (never back)."""
    _check_case(compound, case)
    recorded = PositiveCase.objects.create(
        compound=compound,
        building_id=case.building_id,
        found_on=case.found_on,
        note=case.note,
        source=source,
        recorded_by=by,
    )
    if compound.last_positive_on is None or case.found_on > compound.last_positive_on:
        compound.last_positive_on = case.found_on
        compound._change_reason = _("New positive case found on %(date)s") % {
            "date": case.found_on.isoformat()
        }
        compound._history_user = by
        compound.save(update_fields=["last_positive_on"])
    case_recorded.send(sender=Compound, compound=compound, case=recorded, by=by)
    return recorded


def step_down_date(compound: Compound) -> datetime.date | None:
    """The first day a sealed or controlled compound may step down (None: any day)."""
    return compound.clock.step_down_on


def compound_record_positive(
    *, compound_id: int, case: NewCase, by: User, source: str = "manual"
) -> PositiveCase:
    """Record a new positive case: it restarts the compound's days without a case, so a step
    down is refused until the quiet period has passed again. It never lowers the status. It is
    the way for an app above (a positive test result) to report a case; the status page records
    its case through compound_change_status, in the same transaction as the change."""
    if not may_change_status(by):
        raise PermissionDenied(_("Your role may not change the control status of a compound."))
    with transaction.atomic():
        compound = Compound.objects.visible_to(by).select_for_update().get(pk=compound_id)
        return _record_case(compound, case, by=by, source=source)


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise TransitionRefused(_("Give a reason for the change."), field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise TransitionRefused(
            _("The reason is too long: at most %(max)d characters.") % {"max": REASON_MAX_LENGTH},
            field="reason",
        )
    return reason


def _check_quiet(compound: Compound, current: str, to_status: str) -> None:
    """A sealed or controlled compound steps down only after the quiet period."""
    stepping_down = SEVERITY[to_status] < SEVERITY[current]
    if (
        stepping_down
        and current in (ControlStatus.SEALED, ControlStatus.CONTROLLED)
        and not compound.quiet_enough_to_step_down()
    ):
        raise TransitionRefused(
            _(
                "The last positive case was on %(date)s, %(days)d days ago. A sealed or "
                "controlled compound steps down only after %(quiet)d days without a new "
                "positive case: it may step down from %(when)s."
            )
            % {
                # Not quiet enough: there was a positive case.
                "date": cast(datetime.date, compound.last_positive_on).isoformat(),
                "days": compound.days_since_positive,
                "quiet": settings.WUYI_DOWNGRADE_QUIET_DAYS,
                "when": cast(datetime.date, step_down_date(compound)).isoformat(),
            },
            field="to_status",
        )


def compound_change_status(
    *,
    compound_id: int,
    to_status: str,
    reason: str,
    by: User,
    expected_from: str | None = None,
    new_case: NewCase | None = None,
) -> StatusChange | PositiveCase:
    """Move a compound to another control status and record who, when and why; with
    `new_case`, record a new positive case first, in the same transaction (to_status may then
    be "" to keep the status). Returns the status change, or the case when the status stays.

    `expected_from` is the status the user saw when filling in the form. If the compound has
    moved since, the change is refused, unless it already stands where the user wanted it to
    go, in which case this is a double submit and the earlier change is returned unchanged.

    Raises Compound.DoesNotExist when the compound is outside the user's reach, PermissionDenied
    when the role may not change statuses and TransitionRefused for any rule the change breaks
    (a move rules.CONTROL lacks among them).
    """
    if not may_change_status(by):
        raise PermissionDenied(_("Your role may not change the control status of a compound."))
    if to_status == "" and new_case is not None:
        with transaction.atomic():
            compound = Compound.objects.visible_to(by).select_for_update().get(pk=compound_id)
            return _record_case(compound, new_case, by=by, source="manual")
    if to_status not in ControlStatus.values:
        raise TransitionRefused(_("Choose one of the listed control statuses."), field="to_status")
    reason = _clean_reason(reason)

    with transaction.atomic():
        # The row lock serialises two people changing the same compound at the same moment:
        # the second waits, then sees the first one's status and is judged against it.
        compound = Compound.objects.visible_to(by).select_for_update().get(pk=compound_id)
        current = compound.status
        if expected_from is not None and expected_from != current:
            if current == to_status:
                latest = compound.status_changes.order_by("-changed_at", "-id").first()
                if latest is not None:
                    return latest
            raise TransitionRefused(
                _(
                    "Someone changed this compound to “%(current)s” while you were filling in "
                    "the form. Check the latest status and try again."
                )
                % {"current": ControlStatus(current).label}
            )
        if new_case is not None:
            _record_case(compound, new_case, by=by, source="manual")
        CONTROL.check(current, to_status, by=by)
        _check_quiet(compound, current, to_status)

        now = timezone.now()
        compound.status = to_status
        compound.status_changed_at = now
        compound._change_reason = reason  # picked up by django-simple-history
        compound._history_user = by
        compound.save(update_fields=["status", "status_changed_at"])
        change = StatusChange.objects.create(
            compound=compound,
            from_status=current,
            to_status=to_status,
            reason=reason,
            changed_by=by,
            changed_at=now,
        )
        if SEVERITY[to_status] > SEVERITY[current]:
            status_rose.send(sender=Compound, compound=compound, change=change, by=by)
        return change


# ----------------------------------------------------------------------------- postings

Place = District | Subdistrict | Community | Compound
_PLACE_FIELD = {District: "district", Subdistrict: "subdistrict", Community: "community"}
_PLACE_FIELD[Compound] = "compound"


def posting_add(*, user: User, place: Place, via: str = "") -> Posting:
    """Post a user to a place: from now on they see what lies under it. Idempotent."""
    place_lookup: dict[str, Any] = {_PLACE_FIELD[type(place)]: place}
    posting, _created = Posting.objects.get_or_create(user=user, via=via, **place_lookup)
    forget_scope(user)
    return posting


def posting_remove(*, user: User, place: Place, via: str = "") -> int:
    """Take back the posting `via` wrote; the user keeps what their other postings give.
    Returns the count removed (0 when there was none)."""
    deleted, _ = Posting.objects.filter(
        user=user, via=via, **{_PLACE_FIELD[type(place)]: place}
    ).delete()
    forget_scope(user)
    return deleted


# ----------------------------------------------------------------------------- moving


def compound_move(*, by: User, compound_id: int, community: Community) -> Compound:
    """Move a compound to another community (a boundary redrawn). Only the city's
    administrators may. Every copy of the compound's community moves with it in one
    transaction: the compound's own sub-district and district, and whatever upper apps keep
    (compound_moved), so the old community's secretary loses its residents at once."""
    if not (by.is_active and by.is_superuser):
        raise PermissionDenied(_("Only the city's administrators may move a compound."))
    with transaction.atomic():
        compound = Compound.objects.select_for_update().get(pk=compound_id)
        previous = compound.community_id
        if previous == community.pk:
            return compound
        compound.community = community
        compound._history_user = by
        compound._change_reason = _("Moved to %(community)s") % {"community": community.name}
        compound.save()
        compound_moved.send(
            sender=Compound,
            compound=compound,
            from_community_id=previous,
            to_community_id=community.pk,
        )
    return compound
