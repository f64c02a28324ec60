"""Reads on the register: search, the vulnerable ledger, households. Constant query counts."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compounds.models import Building, Compound
from wuyi.lib import cn, pii
from wuyi.lib.errors import Refused

from . import registry, rules
from .models import (
    PHONE_TAIL,
    ByteOrder,
    Category,
    Household,
    HouseholdActionLog,
    HouseholdLink,
    Resident,
    VulnerableTag,
)

_ROOM_HINT = re.compile(r"(号楼|栋|幢|单元|室)|^[0-9A-Za-z]+-[0-9A-Za-z]+(-[0-9A-Za-z]+)?$")
_ID_CHARS = re.compile(r"^\d{1,17}[\dXx]$")
MSG_SEARCH_FULL_ID = _(
    "Searching by the whole ID number is for the community secretary: search by its last "
    "four characters."
)
# A masked role sees 138****5678: a search by a whole number would confirm a guess of the four
# hidden digits (10,000 tries rebuild it), and one by its start walks to it. Its last four find
# the person the same (the lists show them); whole numbers and prefixes are the secretary's.
MSG_SEARCH_PHONE = _(
    "Searching by a whole mobile number, or by its start, is for the community secretary: "
    "search by its last four digits."
)
# A room number with a letter (not X, which ends ID numbers): 501A, 1201b.
_LETTERED_ROOM = re.compile(r"^\d{1,5}[A-WYZa-wyz]$")


def resident_search(
    *,
    user: User,
    query: str = "",
    compound_id: int | None = None,
    category: str = "",
) -> QuerySet[Resident]:
    """Residents the user may see, found by name, phone, room or the ID number's last digits.

    - "3号楼2单元501", "3-2-501": that household (building, unit, room);
    - 18 or 15 characters of an ID number: that person (keyed-hash lookup), for roles that
      see full numbers (Refused for the others: a search would confirm a guess);
    - 11 digits: that mobile number, for roles that see full numbers (Refused for the others,
      for the same reason: the mask leaves 10,000 candidates, each one search away);
    - 4 characters (digits, or 3 digits and X): the ID number's or a phone's last four, or a
      room number;
    - a compound's name before a room address ("天庆丽舍1号楼1单元101"): that household;
    - 1 to 3 digits: a room number;
    - 5 to 10 digits: the start of a phone number, for roles that see full numbers;
    - anything else: names starting with it (a surname finds the family).
    Each branch reads one index in the order it returns rows, so a page costs about the same in
    a community of 20,000 and in a district of a million (bench/search_residents.py).
    """
    qs = (
        Resident.objects.visible_to(user)
        .current()
        .select_related("household__building", "compound")
        .prefetch_related(Prefetch("tags", queryset=VulnerableTag.objects.order_by("category")))
    )
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if category:
        qs = qs.filter(tags__category=category)
    q = cn.to_halfwidth(query or "")[:60]
    if not q:
        return qs.order_by("household_id", "id")
    if _LETTERED_ROOM.match(q):
        return qs.filter(household__room=rules.clean_room(q)).order_by("household_id", "id")
    name, address = rules.split_compound(q.replace(" ", ""))
    if _ROOM_HINT.search(q) or (name and _ROOM_HINT.search(address)):
        return _at_address(qs, user, name, address)
    compact = q.replace(" ", "").replace("-", "")
    if _ID_CHARS.match(compact):
        found = _by_number(qs, compact, full_access=rules.may_see_full_personal_data(user))
        if found is not None:
            return found
    return (
        qs.alias(name_bytes=ByteOrder("name"))
        .filter(name_bytes__startswith=q)
        .order_by("name_bytes", "id")
    )


def _at_address(qs: QuerySet[Resident], user: User, name: str, address: str) -> QuerySet[Resident]:
    """resident_search by a room address; "天庆丽舍1号楼1单元101": a compound's name before the
    address narrows to it."""
    if name:
        named = Compound.objects.visible_to(user).filter(name=name).values("id")
        qs = qs.filter(compound_id__in=named)
    try:
        building, unit, room = rules.parse_room(address)
    except cn.NormalizeError:
        return qs.none()
    if building:
        qs = qs.filter(household__building__number=building)
    if unit:
        qs = qs.filter(household__unit=unit)
    if room:
        qs = qs.filter(household__room=room)
    return qs.order_by("household_id", "id")


def _by_number(
    qs: QuerySet[Resident], compact: str, *, full_access: bool
) -> QuerySet[Resident] | None:
    """resident_search by digits (an ID number, a phone, their last four, a room); None when
    the digits are none of those (searched as a name)."""
    if len(compact) in (15, 18):
        if not full_access:
            # A search by a guessed number would confirm it: the mask says the last four.
            raise Refused(MSG_SEARCH_FULL_ID, field="q")
        try:
            id18 = cn.normalize_national_id(compact)
        except cn.NormalizeError:
            return qs.none()
        return qs.filter(id_hash=pii.keyed_hash(id18))
    if len(compact) == 11 and compact.isdigit():
        if not full_access:
            raise Refused(MSG_SEARCH_PHONE, field="q")
        return qs.filter(phone=compact).order_by("id")
    if len(compact) == 4:
        # The ID number's last four, a phone's last four (the lists show both tails), or
        # a room: indexed lookups joined by id. An OR across the household join would make
        # the database scan every household instead.
        by_id = Resident.objects.filter(id_last4=compact.upper()).order_by().values("id")
        by_room = Resident.objects.filter(household__room=compact).order_by().values("id")
        by_phone = (
            Resident.objects.alias(tail=PHONE_TAIL).filter(tail=compact).order_by().values("id")
        )
        ids = by_id.union(by_room, by_phone)
        return qs.filter(pk__in=ids).order_by("household_id", "id")
    if compact.isdigit() and len(compact) <= 3:
        return qs.filter(household__room=compact).order_by("household_id", "id")
    if compact.isdigit():
        if not full_access:
            # Prefix after prefix would walk a masked 138****5678 back to the number.
            raise Refused(MSG_SEARCH_PHONE, field="q")
        return qs.filter(phone__startswith=compact).order_by("phone", "id")
    return None


def vulnerable_ledger(
    *, user: User, category: str = "", compound_id: int | None = None
) -> QuerySet[VulnerableTag]:
    """The ledger: one line per tag, with the resident and where they live."""
    qs = (
        VulnerableTag.objects.visible_to(user)
        .filter(resident__left_on__isnull=True)
        .select_related("resident__household__building", "resident__compound")
    )
    if category:
        qs = qs.filter(category=category)
    if compound_id:
        qs = qs.filter(resident__compound_id=compound_id)
    return qs.order_by(
        "resident__compound__name",
        "resident__household__building__number",
        "resident__household__unit",
        "resident__household__room",
        "category",
    )


def household_detail(*, user: User, household_id: int) -> Household:
    return (
        Household.objects.visible_to(user)
        .select_related("building", "compound__community")
        .prefetch_related(
            Prefetch(
                "residents",
                queryset=Resident.objects.current().order_by("id").prefetch_related("tags"),
            )
        )
        .get(pk=household_id)
    )


def household_link_state(*, household_id: int) -> dict:
    """The household's own link on its page: the active one (no token: the page never shows
    it, the SMS carries it) and the last actions taken through any of its links. Two queries;
    the caller has read the household through visible_to."""
    log = list(HouseholdActionLog.objects.filter(household_id=household_id).order_by("-at")[:20])
    for entry in log:
        entry.label = registry.household_action_label(entry.action)  # type: ignore[attr-defined]
    return {
        "link": HouseholdLink.objects.filter(household_id=household_id, active=True).first(),
        "link_log": log,
    }


@dataclass
class CompoundCounts:
    households: int
    residents: int
    in_quarantine: int
    vulnerable: list[tuple[str, str, int]]  # (category, label, count)


def compound_counts(*, user: User, compound_id: int) -> CompoundCounts:
    """The register of one compound in figures, as the compound page shows them. Three
    queries, each one aggregate."""
    residents = Resident.objects.visible_to(user).current().filter(compound_id=compound_id)
    # Who is in quarantine today is screening's (registry.register_resident_marks): a
    # released quarantine no longer counts.
    marked = registry.quarantined_ids(timezone.localdate())
    in_quarantine = Q(pk__in=[]) if not marked else Q()
    for ids in marked:
        in_quarantine |= Q(pk__in=ids)
    figures = residents.aggregate(total=Count("id"), quarantined=Count("id", filter=in_quarantine))
    households = Household.objects.visible_to(user).filter(compound_id=compound_id).count()
    by_category = dict(
        VulnerableTag.objects.visible_to(user)
        .filter(resident__compound_id=compound_id, resident__left_on__isnull=True)
        .order_by()
        .values_list("category")
        .annotate(n=Count("id"))
    )
    return CompoundCounts(
        households=households,
        residents=figures["total"],
        in_quarantine=figures["quarantined"],
        vulnerable=[
            (value, str(label), by_category[value])
            for value, label in Category.choices
            if by_category.get(value)
        ],
    )


@dataclass
class Floor:
    number: int | None
    households: list[Household] = field(default_factory=list)


@dataclass
class Unit:
    name: str
    floors: list[Floor] = field(default_factory=list)


def building_register(*, user: User, building_id: int) -> tuple[Building, list[Unit]]:
    """A building's households by unit and floor (from the room number: 1201 is on floor 12),
    with their current residents and ledger lines. Three queries."""
    building = Building.objects.visible_to(user).select_related("compound").get(pk=building_id)
    households = (
        Household.objects.visible_to(user)
        .filter(building_id=building.pk)
        .prefetch_related(
            Prefetch(
                "residents",
                queryset=Resident.objects.current().order_by("id").prefetch_related("tags"),
            )
        )
    )
    units: dict[str, dict[int | None, Floor]] = {}
    for household in households:
        floor = int(household.room[:-2]) if household.room[:-2].isdigit() else None
        units.setdefault(household.unit, {}).setdefault(floor, Floor(floor)).households.append(
            household
        )
    ordered = []
    for unit in sorted(units, key=lambda u: (len(u), u)):
        floors = sorted(units[unit].values(), key=lambda f: (f.number is None, -(f.number or 0)))
        for level in floors:
            level.households.sort(key=lambda h: (len(h.room), h.room))
        ordered.append(Unit(unit, floors))
    return building, ordered


def household_at(
    *, building: Building, unit: Any = "", room: Any = "", by: Any = None
) -> Household | None:
    """The household at a door as a person types it, read through the register's own
    normalisation (rules.clean_address): unit "1", "1单元" or "０１" and room "101", "101室" or
    "１０１" are the door stored as unit 1, room 101. Among the households `by` sees (all when
    `by` is None, for a job of the system's own). None when no household lives there; a door
    that is not one raises the register's NormalizeError (a Refused naming its field)."""
    door = rules.clean_address(building.number, unit, room)
    households = Household.objects.all() if by is None else Household.objects.visible_to(by)
    return (
        households.filter(building=building, unit=door.unit, room=door.room)
        .select_related("building")
        .first()
    )
