"""Status graphs as data: which state may go to which, and who may move it.

Every app that keeps a status declares its graph once, in its ``rules.py``::

    ORDER = Graph(
        "order",
        OrderStatus,
        {
            OrderStatus.SUBMITTED: {OrderStatus.ACCEPTED: may_organise,
                                    OrderStatus.CANCELLED: may_organise},
            OrderStatus.ACCEPTED: {...},
            OrderStatus.DELIVERED: {},   # an end state
        },
    )

and every service that moves that status calls ``ORDER.check(current, target, by=user)``
before it writes: a move the graph does not have is a :class:`MoveRefused` (a
:class:`~wuyi.lib.errors.Refused`, so a form, the API and a command show the same message,
naming what the current state may become), a move the user may not make is a
``PermissionDenied`` (403 on a visible object). Forms and pages offer
``ORDER.targets(current, by=user)``; a test walks ``ORDER.moves()`` and ``ORDER.refused()``.

The ground floor knows no app: ``states`` is any Django ``TextChoices`` (for labels), and a
mover is any ``predicate(user) -> bool`` (or ``predicate(user, obj) -> bool`` when the graph is
checked with ``obj=``). ``None`` as a mover means anyone who may reach the service.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from .errors import Refused

Mover = Callable[..., bool] | None

MSG_NOT_A_MOVE = _("“%(current)s” cannot become “%(target)s”. It can become: %(allowed)s.")
MSG_END_STATE = _("“%(current)s” is final: it cannot become “%(target)s”.")
MSG_SAME = _("It is already “%(current)s”.")
MSG_UNKNOWN = _("“%(target)s” is not one of the listed states.")
MSG_NOT_YOURS = _("Your role may not make it “%(target)s”.")


class MoveRefused(Refused):
    """The graph has no such move; nothing was changed."""

    code = "transition"


@dataclass(frozen=True)
class Graph:
    name: str
    states: Any  # a TextChoices class: values and labels
    moves_from: Mapping[str, Mapping[str, Mover]]
    field: str = "status"  # the form/API field a refusal names

    def __post_init__(self) -> None:
        values = set(self.states.values)
        for state, targets in self.moves_from.items():
            if state not in values:
                raise ValueError(f"{self.name}: {state!r} is not a state")
            for target in targets:
                if target not in values:
                    raise ValueError(f"{self.name}: {state!r} → {target!r} is not a state")

    # ------------------------------------------------------------------------- reading

    def label(self, state: str) -> str:
        try:
            return str(self.states(state).label)
        except ValueError:
            return str(state)

    def allowed(self, current: str) -> list[str]:
        """Where `current` may go, in the order of the choices (whoever moves it)."""
        targets = self.moves_from.get(current, {})
        return [value for value in self.states.values if value in targets]

    def targets(self, current: str, *, by: Any = None, obj: Any = None) -> list[str]:
        """Where `by` may move it from `current` (everyone's when `by` is None)."""
        return [
            t
            for t in self.allowed(current)
            if by is None or self._may(self.moves_from[current][t], by, obj)
        ]

    def is_move(self, current: str, target: str) -> bool:
        return target in self.moves_from.get(current, {})

    def is_final(self, state: str) -> bool:
        return not self.moves_from.get(state)

    def moves(self) -> Iterator[tuple[str, str]]:
        for state in self.states.values:
            for target in self.allowed(state):
                yield state, target

    def refused(self) -> Iterator[tuple[str, str]]:
        """Every (current, target) pair of different states that is not a move."""
        for state in self.states.values:
            for target in self.states.values:
                if target != state and not self.is_move(state, target):
                    yield state, target

    # ------------------------------------------------------------------------- checking

    @staticmethod
    def _may(mover: Mover, by: Any, obj: Any) -> bool:
        if mover is None:
            return True
        if obj is not None and len(inspect.signature(mover).parameters) >= 2:
            return bool(mover(by, obj))
        return bool(mover(by))

    def check(self, current: str, target: str, *, by: Any = None, obj: Any = None) -> None:
        """Refuse a move the graph lacks (MoveRefused) or `by` may not make (PermissionDenied).
        `by=None` checks the graph only (a job of the system's own, after its own checks)."""
        if target not in self.states.values:
            raise MoveRefused(MSG_UNKNOWN % {"target": target}, field=self.field)
        if target == current:
            raise MoveRefused(MSG_SAME % {"current": self.label(current)}, field=self.field)
        if not self.is_move(current, target):
            values = {"current": self.label(current), "target": self.label(target)}
            if self.is_final(current):
                raise MoveRefused(MSG_END_STATE % values, field=self.field)
            allowed = "、".join(f"“{self.label(s)}”" for s in self.allowed(current))
            raise MoveRefused(MSG_NOT_A_MOVE % {**values, "allowed": allowed}, field=self.field)
        if by is not None and not self._may(self.moves_from[current][target], by, obj):
            raise PermissionDenied(MSG_NOT_YOURS % {"target": self.label(target)})
