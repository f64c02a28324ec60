"""Planning a resident import: what the parsed rows would do to one community's register.

The second of the import's three steps (parse, plan, write). Places each row in its compound,
building and household, matches it with a registered resident (on the ID number's hash, or on
household and name without one) and counts what would be new, updated or unchanged. Reads the
database, writes nothing; the plan carries the community it was made for.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from compounds.models import Building, Compound
from wuyi.lib import pii
from wuyi.lib.cn import NormalizeError
from wuyi.lib.iters import chunks
from wuyi.lib.spreadsheets import RowError

from .. import rules
from ..models import Household, Resident, VulnerableTag
from .parse import COLUMN_LABELS, Parsed, ParsedRow

MAX_ERRORS_KEPT = 1000


@dataclass
class Plan:
    """What an import would do in one community: made by plan_import, written by write."""

    community_id: int
    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    new_households: dict[tuple[int, str, str], tuple[int, int]] = field(default_factory=dict)
    households: dict[tuple[int, str, str], int] = field(default_factory=dict)
    creates: list[tuple[ParsedRow, tuple[int, str, str]]] = field(default_factory=list)
    updates: list[tuple[int, ParsedRow, tuple[int, str, str]]] = field(default_factory=list)
    unchanged: int = 0
    new_tags: list[tuple[int | None, ParsedRow]] = field(default_factory=list)
    id_conflicts: int = 0  # rows whose ID number another community has registered
    unknown_words: dict[str, int] = field(default_factory=dict)  # category words, row counts

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def report(self) -> dict:
        errors = sorted(self.errors, key=lambda e: e.row)
        return {
            "total_rows": self.total_rows,
            "new": len(self.creates),
            "updated": len(self.updates),
            "unchanged": self.unchanged,
            "new_households": len(self.new_households),
            "bad_rows": self.bad_rows,
            "error_count": len(errors),
            "errors": [e.as_dict() for e in errors[:MAX_ERRORS_KEPT]],
            "unknown_words": [
                [w, n] for w, n in sorted(self.unknown_words.items(), key=lambda x: -x[1])
            ],
        }


def plan_import(*, parsed: Parsed, community_id: int, compound_id: int | None) -> Plan:
    """Match the parsed rows against the register of one community. Reads only."""
    plan = Plan(
        community_id=community_id,
        total_rows=parsed.total,
        errors=list(parsed.errors),
        unknown_words=dict(parsed.unknown_words),
    )
    compounds = {c.name: c for c in Compound.objects.filter(community_id=community_id)}
    compound = next((c for c in compounds.values() if c.pk == compound_id), None)
    buildings: dict[tuple[int, str], int] = {}
    floors: dict[int, int] = {}
    for b in Building.objects.filter(compound__community_id=community_id).only(
        "id", "compound_id", "number", "floor_count"
    ):
        buildings[(b.compound_id, rules.clean_building(b.number))] = b.pk
        floors[b.pk] = b.floor_count
    households: dict[tuple[int, str, str], int] = {
        (h.building_id, h.unit, h.room): h.pk
        for h in Household.objects.filter(compound__community_id=community_id).only(
            "id", "building_id", "unit", "room"
        )
    }
    plan.households = households

    placed = _place_rows(plan, parsed.rows, compounds, compound, buildings, floors)
    on_register = Resident.objects.current()
    existing = _existing_by_id_hash(placed, on_register)
    by_household_name = _existing_by_household_name(placed, households, on_register)
    tags = _tags_of(
        [v["id"] for v in existing.values()] + [v["id"] for v in by_household_name.values()]
    )
    _classify(plan, placed, existing, by_household_name, tags)
    return plan


_FIELDS = ("id", "id_hash", "community_id", "household_id", *Resident.LIST_FIELDS)


def _place_rows(
    plan: Plan,
    rows: Sequence[ParsedRow],
    compounds: dict[str, Compound],
    compound: Compound | None,
    buildings: dict[tuple[int, str], int],
    floors: dict[int, int],
) -> list[tuple[ParsedRow, int, int]]:
    """Which compound and building each row lives in; rows that fit nowhere become errors."""
    placed: list[tuple[ParsedRow, int, int]] = []
    for item in rows:
        target = compound
        if item.compound:
            target = compounds.get(item.compound)
            if target is None:
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["compound"],
                        _("There is no compound “%(name)s” in this community.")
                        % {"name": item.compound},
                    )
                )
                continue
        if target is None:
            plan.errors.append(
                RowError(
                    item.row,
                    COLUMN_LABELS["compound"],
                    _("Choose the compound on the import page, or add a 小区 column."),
                )
            )
            continue
        building_id = buildings.get((target.pk, item.building))
        if building_id is None:
            plan.errors.append(
                RowError(
                    item.row,
                    COLUMN_LABELS["building"],
                    _("%(compound)s has no building %(building)s.")
                    % {"compound": target.name, "building": item.building},
                )
            )
            continue
        try:
            rules.check_room_floor(item.room, building=item.building, floors=floors[building_id])
        except NormalizeError as exc:
            plan.errors.append(RowError(item.row, COLUMN_LABELS["room"], str(exc.message)))
            continue
        placed.append((item, target.pk, building_id))
    return placed


def _existing_by_id_hash(
    placed: list[tuple[ParsedRow, int, int]], on_register: QuerySet[Resident]
) -> dict[str, dict]:
    """Residents already registered under these ID numbers, anywhere in the city."""
    by_hash: dict[str, ParsedRow] = {}
    for item, _c, _b in placed:
        if item.national_id:
            if item.id_hash is None:
                item.id_hash = pii.keyed_hash(item.national_id)
            by_hash[item.id_hash] = item
    existing: dict[str, dict] = {}
    for chunk in chunks(list(by_hash)):
        for values in on_register.filter(id_hash__in=chunk).values(*_FIELDS):
            existing[values["id_hash"]] = values
    return existing


def _existing_by_household_name(
    placed: list[tuple[ParsedRow, int, int]],
    households: dict[tuple[int, str, str], int],
    on_register: QuerySet[Resident],
) -> dict[tuple[int, str], dict]:
    """Residents without an ID number, matched on household and name."""
    by_household_name: dict[tuple[int, str], dict] = {}
    household_ids = [
        households[(b, item.unit, item.room)]
        for item, _c, b in placed
        if not item.national_id and (b, item.unit, item.room) in households
    ]
    for chunk in chunks(sorted(set(household_ids))):
        for values in on_register.filter(household_id__in=chunk, id_hash__isnull=True).values(
            *_FIELDS
        ):
            by_household_name[(values["household_id"], values["name"])] = values
    return by_household_name


def _tags_of(resident_ids: list[int]) -> dict[int, set[str]]:
    """The vulnerable-group categories each matched resident already has."""
    tags: dict[int, set[str]] = {}
    for chunk in chunks(resident_ids):
        for resident_id, category in VulnerableTag.objects.filter(
            resident_id__in=chunk
        ).values_list("resident_id", "category"):
            tags.setdefault(resident_id, set()).add(category)
    return tags


def _classify(
    plan: Plan,
    placed: list[tuple[ParsedRow, int, int]],
    existing: dict[str, dict],
    by_household_name: dict[tuple[int, str], dict],
    tags: dict[int, set[str]],
) -> None:
    """Sort the placed rows into the plan's creates, updates and unchanged, with new tags."""
    households = plan.households
    seen_no_id: set[tuple[int, str, str, str]] = set()
    for item, compound_id, building_id in placed:
        key = (building_id, item.unit, item.room)
        if key not in households and key not in plan.new_households:
            plan.new_households[key] = (compound_id, building_id)
        household_id = households.get(key)
        current: dict | None = None
        if item.national_id:
            current = existing.get(cast(str, item.id_hash))  # hashed above
            if current is not None and current["community_id"] != plan.community_id:
                plan.id_conflicts += 1
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["national_id"],
                        str(rules.MSG_ID_TAKEN),
                    )
                )
                continue
        else:
            no_id_key = (*key, item.name)
            if no_id_key in seen_no_id:
                plan.errors.append(
                    RowError(
                        item.row,
                        COLUMN_LABELS["name"],
                        _("The same name appears twice in this household without ID numbers."),
                    )
                )
                continue
            seen_no_id.add(no_id_key)
            if household_id is not None:
                current = by_household_name.get((household_id, item.name))
        if current is None:
            plan.creates.append((item, key))
            if item.categories:
                plan.new_tags.append((None, item))
            continue
        if _changes(current, item, household_id):
            plan.updates.append((current["id"], item, key))
        else:
            plan.unchanged += 1
        if set(item.categories) - tags.get(current["id"], set()):
            plan.new_tags.append((current["id"], item))


def _changes(current: dict, item: ParsedRow, household_id: int | None) -> bool:
    """Would the row change the resident? Empty cells never erase what is registered."""
    if current["household_id"] != household_id:
        return True
    for name in Resident.LIST_FIELDS:
        value = getattr(item, name)
        if value not in ("", None) and value != current[name]:
            return True
    return False
