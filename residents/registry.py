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
