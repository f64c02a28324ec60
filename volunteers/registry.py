"""Today's tasks (今日任务): what other apps give a volunteer, a medic or a cleaner to do today.

volunteers imports none of the apps above it. Supplies (deliveries), sanitation (disinfection
rounds) and medical (escorts) each register a provider in their AppConfig.ready():
`provider(user, date)` returns that user's tasks for the day as Task rows, with a constant
number of queries however many there are. The phone view lists them under the day's shifts.
"""

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify

from wuyi.lib import localday


@dataclass(frozen=True)
class Task:
    """One thing to do today, one tap from done.

    `done_url` receives a POST (htmx) that marks it done and answers with the task's row;
    `url` opens its detail. `at` orders the list (None: anytime today).
    """

    key: str  # unique across providers: "delivery:12"
    kind: str  # a short label shown on the row: 配送, 消杀, 转运
    title: str
    detail: str = ""
    at: datetime.datetime | None = None
    done: bool = False
    done_url: str = ""
    url: str = ""
    # Where the kind sits on the page, lower first: someone waiting at a door (an emergency, a
    # delivery) before routine rounds. Kinds at ROUTINE or above fold after FOLD_AFTER rows.
    rank: int = 50
    call_url: str = ""  # a POST that records the call and answers with the tel: number
    # The row's element id, "task-round12" (the done button's POST answers the row by it).
    dom_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dom_id", f"task-{_slug(self.key)}")

    @property
    def at_label(self) -> str:
        """`at` as the row shows it, 14:05 in Asia/Shanghai ("" when anytime today); the
        template's time filter took a third of a row's rendering."""
        return localday.clock(self.at) if self.at else ""


# A key's slug, kept: the same keys come back on every 今日任务 of the day, and slugify
# (unicode normalising and three regular expressions) costs 2 µs a row, 50x the lookup.
_slug = functools.lru_cache(maxsize=8192)(slugify)

URGENT, ERRAND, ROUTINE = 0, 20, 50
FOLD_AFTER = 3

TaskProvider = Callable[[Any, datetime.date], list[Task]]
_providers: list[TaskProvider] = []


def register_task_provider(provider: TaskProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def tasks_for(user: Any, day: datetime.date) -> list[Task]:
    """Every provider's tasks for the user on `day`: open ones first, the most pressing kinds
    first, then by time; tasks alike in these keep their provider's order (the providers run
    in the order they registered; a provider lists its doors as they are walked)."""
    tasks = [task for provider in _providers for task in provider(user, day)]
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return sorted(tasks, key=lambda t: (t.done, t.rank, t.at or far))


@dataclass
class TaskGroup:
    """The tasks of one kind as the phone shows them: the first rows, the rest folded."""

    kind: str
    rank: int
    shown: list[Task] = field(default_factory=list)
    folded: list[Task] = field(default_factory=list)

    @property
    def routine(self) -> bool:
        return self.rank >= ROUTINE

    @property
    def open_count(self) -> int:
        return sum(not t.done for t in self.shown + self.folded)

    @property
    def total(self) -> int:
        return len(self.shown) + len(self.folded)


def group_tasks(tasks: list[Task], fold_after: int = FOLD_AFTER) -> list[TaskGroup]:
    """Tasks by kind, the most pressing kind first. A routine kind (26 disinfection rounds)
    shows its next `fold_after` open rows and folds the rest and the done ones, so that what
    someone waits for is on the first screen."""
    groups: dict[str, TaskGroup] = {}
    for task in tasks:
        group = groups.setdefault(task.kind, TaskGroup(kind=task.kind, rank=task.rank))
        group.rank = min(group.rank, task.rank)
    for task in tasks:
        group = groups[task.kind]
        unfolded = sum(not t.done for t in group.shown)
        if group.routine and (task.done or unfolded >= fold_after):
            group.folded.append(task)
        else:
            group.shown.append(task)
    return sorted(groups.values(), key=lambda g: (g.open_count == 0, g.rank))
