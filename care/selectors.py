"""Reads of the care app: a volunteer's checks of the day, a compound's day, the residents of
the ledger not yet served today, and the contacts the ledger's "served today" shows. Each in a
constant number of queries."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from compounds.models import Compound, address_label
from residents.models import VulnerableTag
from residents.registry import Contact, ResidentIds, contacts_on, id_filter

from . import rules
from .models import Outcome, WelfareCheck


def my_checks(*, user: Any, day: datetime.date) -> list[Any]:
    """The checks given to this user's volunteer record on `day`, as what 今日任务 shows of
    each: rows of pk, outcome, resident__name and the door (household__building__number,
    household__unit, household__room), door by door; one query. Plain rows ordered here:
    model instances with their relations, and Django compiling the ORDER BY over the joins,
    were most of the provider's time, on every 今日任务."""
    rows = (
        WelfareCheck.objects.visible_to(user)
        .filter(date=day, volunteer__user=user)
        .order_by()
        .values_list(
            "pk",
            "outcome",
            "resident__name",
            "household__building__number",
            "household__unit",
            "household__room",
            "compound_id",
            "household__building_id",
            "household_id",
            named=True,
        )
    )
    return sorted(
        rows, key=lambda c: (c.compound_id, c.household__building_id, c.household_id, c.pk)
    )


def compound_checks(*, user: Any, compound: Compound, day: datetime.date) -> QuerySet:
    return (
        WelfareCheck.objects.visible_to(user)
        .filter(compound=compound, date=day)
        .select_related("resident", "household__building", "volunteer")
        .order_by("outcome", "household__building_id", "household_id", "id")
    )


def _reached(resident_ids: ResidentIds, day: datetime.date) -> QuerySet[WelfareCheck]:
    return WelfareCheck.objects.filter(
        resident_id__in=id_filter(resident_ids), date=day, outcome__in=rules.REACHED
    )


def welfare_contacts(resident_ids: ResidentIds, day: datetime.date) -> dict[int, list[Contact]]:
    """The residents.registry contact provider: residents reached at their check on `day`
    (`resident_ids`: ids or a queryset of them). One query."""
    found: dict[int, list[Contact]] = defaultdict(list)
    rows = _reached(resident_ids, day).values_list("resident_id", "outcome", "done_at")
    for resident_id, outcome, done_at in rows:
        found[resident_id].append(Contact(kind="welfare", label=Outcome(outcome).label, at=done_at))
    return found


def welfare_reached(resident_ids: ResidentIds, day: datetime.date) -> QuerySet:
    """The same residents as a queryset of their ids, not run (residents.registry.reached_ids)."""
    return _reached(resident_ids, day).values("resident_id")


@dataclass
class LedgerLine:
    resident_id: int
    name: str
    address: str
    categories: list[str]
    contacts: list[Contact]

    @property
    def served(self) -> bool:
        return bool(self.contacts)


def served_today(
    *, user: Any, day: datetime.date, compound: Compound | None = None
) -> list[LedgerLine]:
    """Every ledger resident the user sees (of one compound when given) with the contacts every
    app reports for `day`, the not-yet-served first. One query for the ledger plus one per
    registered provider, however many residents."""
    tags = VulnerableTag.objects.visible_to(user).filter(resident__left_on__isnull=True)
    if compound is not None:
        tags = tags.filter(resident__compound=compound)
    by_resident: dict[int, LedgerLine] = {}
    for resident_id, name, building, unit, room, category in tags.values_list(
        "resident_id",
        "resident__name",
        "resident__household__building__number",
        "resident__household__unit",
        "resident__household__room",
        "category",
    ).order_by("resident__household__building__number", "resident__household__room", "id"):
        line = by_resident.get(resident_id)
        if line is None:
            line = by_resident[resident_id] = LedgerLine(
                resident_id, name, address_label(building, unit, room), [], []
            )
        line.categories.append(category)
    # The ledger's ids stay a subquery: not sent back to the database one parameter each.
    contacts = contacts_on(tags.values("resident_id"), day)
    for resident_id, found in contacts.items():
        if resident_id in by_resident:
            by_resident[resident_id].contacts = sorted(
                found, key=lambda c: (c.at is None, c.at or datetime.datetime.min)
            )
    return sorted(by_resident.values(), key=lambda line: line.served)
