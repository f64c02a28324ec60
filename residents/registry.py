"""What upper apps link to a resident's ledger line, without residents importing them.

Medical (recurring escorts: "透析 周一、三、五 07:30") registers a provider in its
AppConfig.ready(): `provider(user, resident_ids)` returns {resident id: [ResidentLink]} for the
residents the user sees, in a constant number of queries however many ids it is given.
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
