"""The dashboards' reads on a read replica, when there is one (docs/operations.md, The city on
paper): DATABASE_REPLICA_URL names a hot standby streamed from the primary; without it (the
default) everything reads and writes on `default`.

Only the district views' GET requests read there (the `dashboards` pages and the overview
API): an aggregate a few seconds behind the primary is acceptable on a dashboard, never on a
page that writes and reads back. Writes, migrations and every other page stay on `default`.
ReplicaReadsMiddleware marks such a request (a context variable, so a thread of a gthread
worker marks only its own); ReplicaRouter sends the marked request's reads to the replica.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
# URL namespaces and names whose GET requests read on the replica.
READ_NAMESPACES = frozenset({"dashboards"})
READ_URL_NAMES = frozenset({"overview-api"})

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "wuyi_replica_reads", default=False
)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reading_connection() -> BaseDatabaseWrapper:
    """The connection a raw SQL read should use (a Postgres fast path in a figure provider):
    the replica inside a marked request, else default. The router routes the ORM only."""
    if _replica_reads.get() and replica_configured():
        return connections[REPLICA]
    return connections[DEFAULT_DB_ALIAS]


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside go to the replica, if one is configured."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Reads marked by replica_reads() to the replica; everything else to `default` (None
    lets Django choose it). Both hold the same rows, so relations between them are allowed;
    only `default` is migrated (the standby follows the primary)."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _replica_reads.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


class ReplicaReadsMiddleware:
    """Marks a GET (or HEAD) of the district views as reading on the replica, until its
    response is rendered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            token = getattr(request, "_wuyi_replica_token", None)
            if token is not None:
                _replica_reads.reset(token)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        match = request.resolver_match
        if request.method not in ("GET", "HEAD") or match is None:
            return
        if match.namespace in READ_NAMESPACES or match.url_name in READ_URL_NAMES:
            request._wuyi_replica_token = _replica_reads.set(True)  # type: ignore[attr-defined]
