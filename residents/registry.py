"""What upper apps tell the register, without residents importing them.

Links: medical (recurring escorts: "透析 周一、三、五 07:30") registers a provider in its
AppConfig.ready(): `provider(user, resident_ids)` returns {resident id: [ResidentLink]} for the
residents the user sees, in a constant number of queries however many ids it is given.

Served households: a volunteer sees residents only through their tasks. An app that gives tasks
at a door (supplies: the deliveries a volunteer carries) registers `serves(user, household_id)`,
true while the user holds such a task there; the register lets that volunteer call the
household (rules.may_call_resident) and nothing more.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ResidentLink:
    label: str
    url: str


LinkProvider = Callable[[Any, Sequence[int]], dict[int, list[ResidentLink]]]
_providers: list[LinkProvider] = []


def register_resident_links(provider: LinkProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def links_for(user: Any, resident_ids: Sequence[int]) -> dict[int, list[ResidentLink]]:
    found: dict[int, list[ResidentLink]] = defaultdict(list)
    if not resident_ids:
        return found
    for provider in _providers:
        for resident_id, links in provider(user, resident_ids).items():
            found[resident_id].extend(links)
    return found


ServesHousehold = Callable[[Any, int], bool]
_serves: list[ServesHousehold] = []


def register_served_households(serves: ServesHousehold) -> None:
    if serves not in _serves:
        _serves.append(serves)


def serves_household(user: Any, household_id: int) -> bool:
    """True when a task the user holds now takes them to this household's door."""
    return any(serves(user, household_id) for serves in _serves)


# ----------------------------------------------------------------------------- served today

# "Served today" (今日已服务) on the ledger: each app that reaches a resident (a delivery
# handed over, an escort, a sample taken, a welfare check, a health report) registers a
# provider in its AppConfig.ready() (plugins.py). `provider(resident_ids, day)` returns
# {resident id: [Contact]} for those of the given residents it reached on `day` (Asia/Shanghai),
# in a constant number of queries however many ids it is given. The caller has already scoped
# the ids through visible_to; a provider reads nothing else personal.
#
# `resident_ids` is a sequence of ids or a queryset of them (`.values("pk")`): a queryset stays
# a subquery in SQL (`resident_id__in=subquery`), so that a district's ledger of thousands is
# not read into Python only to be sent back as as many parameters. A provider passes it
# through `id_filter`.
#
# With the provider an app may register `reached(resident_ids, day)`: the same residents as a
# queryset of resident ids, unevaluated, for a count made in SQL (the campaign's "every
# vulnerable resident contacted today" across 3,000 compounds is one grouped query).


@dataclass(frozen=True)
class Contact:
    kind: str  # "welfare", "delivery", "escort", "sample", "health": stable, for filters
    label: Any  # a lazy string shown on the ledger: 电话问候, 已送达, 已采样
    at: Any = None  # an aware datetime, when known


ResidentIds = Sequence[int] | QuerySet[Any, Any]
ContactProvider = Callable[[ResidentIds, Any], dict[int, list[Contact]]]
ReachedIds = Callable[[ResidentIds, Any], QuerySet[Any, Any]]
_contacts: list[ContactProvider] = []
_reached: list[ReachedIds] = []


def id_filter(resident_ids: ResidentIds) -> Any:
    """What `resident_id__in=` takes: a queryset as it is (a subquery), else a list."""
    if isinstance(resident_ids, QuerySet):
        return resident_ids
    return list(resident_ids)


def register_contacts(provider: ContactProvider, reached: ReachedIds | None = None) -> None:
    if provider not in _contacts:
        _contacts.append(provider)
    if reached is not None and reached not in _reached:
        _reached.append(reached)


def contacts_on(resident_ids: ResidentIds, day: Any) -> dict[int, list[Contact]]:
    """Every provider's contacts with these residents on `day`, each resident's by time."""
    found: dict[int, list[Contact]] = defaultdict(list)
    if not isinstance(resident_ids, QuerySet) and not resident_ids:
        return found
    for provider in _contacts:
        for resident_id, contacts in provider(resident_ids, day).items():
            found[resident_id].extend(contacts)
    return found


def reached_ids(resident_ids: ResidentIds, day: Any) -> list[QuerySet[Any, Any]]:
    """Each registered app's residents (of these) reached on `day`, as querysets of resident
    ids not yet run: a caller ORs `resident_id__in=` over them inside its own query."""
    return [reached(resident_ids, day) for reached in _reached]


# ----------------------------------------------------------------------------- household link

# The household's own SMS link (no account; its token and code check live in this app once):
# what a household can do through it. Supplies (order), medical (ask for an escort), screening
# (report health in quarantine, see the latest result), care (send a need) and campaign (the
# residents' code and notices) each register an action from their plugins. `view(request,
# link, household)` is the upper app's page; residents serves it at
# residents:household_action (token, key), having checked the token (404 unknown or void),
# the household's proof (its code) and `available(household)` (a health report only while
# someone is in quarantine), and logs every POST it answers with a redirect (a view may set
# `request.household_log` to a short detail).


@dataclass(frozen=True)
class HouseholdAction:
    key: str
    label: Any
    view: Callable[..., Any]
    available: Callable[[Any], bool] = lambda household: True
    order: int = 100


_actions: dict[str, HouseholdAction] = {}


def register_household_action(action: HouseholdAction) -> None:
    _actions[action.key] = action


def household_action(key: str) -> HouseholdAction | None:
    return _actions.get(key)


def household_actions(household: Any) -> list[HouseholdAction]:
    return sorted(
        (a for a in _actions.values() if a.available(household)), key=lambda a: (a.order, a.key)
    )


def household_action_label(key: str) -> Any:
    """What a log line's action key reads as on the household's page."""
    if key == "opened":
        return _("Opened the link")
    action = _actions.get(key)
    return action.label if action is not None else key


# What a household should know, shown on its link's page once it has proved itself (beside the
# actions): screening's sampling point and time slot for the round in progress. `provider(
# household)` returns [HouseholdInfo] for this household only, in a constant number of
# queries; nothing personal beyond the household's own address, which the page already shows.


@dataclass(frozen=True)
class HouseholdInfo:
    kind: str  # "sampling": stable, for tests
    label: Any  # 核酸采样
    title: str  # 东门广场
    detail: str = ""  # 12-03 08:00–10:00


InfoProvider = Callable[[Any], list[HouseholdInfo]]
_info: list[InfoProvider] = []


def register_household_info(provider: InfoProvider) -> None:
    if provider not in _info:
        _info.append(provider)


def household_info(household: Any) -> list[HouseholdInfo]:
    """Every provider's lines for this household, in the order the apps registered."""
    return [line for provider in _info for line in provider(household)]


# ----------------------------------------------------------------------------- needs turned


# A need a resident voiced (at a welfare check, through the household's link) becomes work
# of another app in one tap: supplies makes it a proxy purchase, medical an escort request.
# `make(by=, resident=, text=, key=, when=)` does it (idempotent by `key`) and returns what it
# made, as a short line for the need ("代购单 #12"); it raises Refused or PermissionDenied.
# `may(user)` says whether the user may make it at all (the button shows only then).


@dataclass(frozen=True)
class NeedTurn:
    kind: str  # the need's kind it answers: "supplies", "escort"
    label: Any  # the button: 生成代购单, 申请就医陪护
    make: Callable[..., str]
    may: Callable[[Any], bool]
    asks_when: bool = False  # the button carries a day and time (an escort's)


_turns: dict[str, NeedTurn] = {}


def register_need_turn(turn: NeedTurn) -> None:
    _turns[turn.kind] = turn


def need_turn(kind: str) -> NeedTurn | None:
    return _turns.get(kind)


# ----------------------------------------------------------------------------- marks

# What the register shows beside a person that another app keeps: screening's quarantine
# (case, close contact, home isolation) and temporary control of a positive pool's households.
# `marks(resident_ids, day)` returns {resident id: [ResidentMark]} for those of the given
# residents marked on `day` (Asia/Shanghai), in a constant number of queries however many ids
# it is given; a released quarantine comes back with `ended=True` (the resident's page shows
# it, lists and counts do not). `marked(day)` answers a queryset of the resident ids counted
# "in quarantine" on `day`, for an aggregate's condition (the compound page's figure).


@dataclass(frozen=True)
class ResidentMark:
    kind: str  # "quarantine", "control": stable, for filters and tests
    label: Any  # 密接 · 居家隔离
    detail: str = ""  # "2026-11-24 – 2026-12-08"
    ended: bool = False


MarkProvider = Callable[[Sequence[int], Any], dict[int, list[ResidentMark]]]
MarkedIds = Callable[[Any], Any]
_marks: list[MarkProvider] = []
_marked: list[MarkedIds] = []


def register_resident_marks(provider: MarkProvider, marked: MarkedIds | None = None) -> None:
    if provider not in _marks:
        _marks.append(provider)
    if marked is not None and marked not in _marked:
        _marked.append(marked)


def marks_on(resident_ids: Sequence[int], day: Any) -> dict[int, list[ResidentMark]]:
    found: dict[int, list[ResidentMark]] = defaultdict(list)
    if not resident_ids:
        return found
    for provider in _marks:
        for resident_id, marks in provider(resident_ids, day).items():
            found[resident_id].extend(marks)
    return found


def quarantined_ids(day: Any) -> list[Any]:
    """The registered querysets of resident ids in quarantine on `day` (none: no such app)."""
    return [marked(day) for marked in _marked]
