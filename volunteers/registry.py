"""Today's tasks (今日任务): what other apps give a volunteer, a medic or a cleaner to do today.

volunteers imports none of the apps above it. Supplies (deliveries), sanitation (disinfection
rounds) and medical (escorts) each register a provider in their AppConfig.ready():
`provider(user, date)` returns that user's tasks for the day as Task rows, with a constant
number of queries however many there are. The phone view lists them under the day's shifts.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


TaskProvider = Callable[[Any, datetime.date], list[Task]]
_providers: list[TaskProvider] = []


def register_task_provider(provider: TaskProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def tasks_for(user: Any, day: datetime.date) -> list[Task]:
    """Every provider's tasks for the user on `day`: open ones first, then by time."""
    tasks = [task for provider in _providers for task in provider(user, day)]
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return sorted(tasks, key=lambda t: (t.done, t.at or far, t.key))
