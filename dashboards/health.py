"""/healthz and /metrics: is the system up, and is work backing up.

/healthz answers anyone (a load balancer, a container runtime) without a login: 200 when the
database, the cache and the broker answer, 503 naming the parts that did not. It says nothing
else: no personal data, no counts, no versions.

/metrics answers in Prometheus' text format, only to a request carrying the bearer token
WUYI_METRICS_TOKEN (404 without one set, or with a wrong one, so that its existence is not
confirmed): the same three parts as gauges, each Celery queue's depth and the age of its oldest
waiting message, the SMS outbox's due backlog and its age, open SMS batches, and import jobs
running. Counts only, across the whole system: nothing about a person or a place.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from messaging.models import Batch, Recipient, RecipientStatus
from residents.models import ImportJob

TIMEOUT = 2.0  # seconds for each part to answer


def _database() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()


def _cache() -> None:
    key = "wuyi:healthz"
    cache.set(key, "1", 30)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not keep a value")


def _broker_redis():
    import redis

    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT
    )


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        _broker_redis().ping()
        return
    from wuyi.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT)


PARTS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
}


def parts_status() -> dict[str, str]:
    """{"database": "ok", "cache": "ok", "broker": "failed"}: each part tried once."""
    found = {}
    for name, check in PARTS.items():
        try:
            check()
        except Exception:  # whatever the driver raises, the part is down
            found[name] = "failed"
        else:
            found[name] = "ok"
    return found


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    parts = parts_status()
    failed = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "failing" if failed else "ok", "parts": parts, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)


def queue_figures(now: float | None = None) -> dict[str, tuple[int, float]]:
    """{queue: (messages waiting, age in seconds of the oldest)} on a Redis broker; {} on
    another broker. The oldest is the list's tail (kombu pushes at the head, workers pop the
    tail); its age comes from the wuyi_sent_at header every message carries (wuyi/celery.py)."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return {}
    now = time.time() if now is None else now
    client = _broker_redis()
    found = {}
    for queue in settings.WUYI_QUEUES:
        depth = int(client.llen(queue))
        age = 0.0
        if depth:
            raw = client.lindex(queue, -1)
            try:
                sent = float(json.loads(raw)["headers"]["wuyi_sent_at"])
                age = max(0.0, now - sent)
            except (TypeError, ValueError, KeyError):
                age = 0.0
        found[queue] = (depth, age)
    return found


def _age(oldest) -> float:
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


def figures() -> list[tuple[str, str, dict[str, str], float]]:
    """(name, help, labels, value) of every gauge /metrics shows."""
    out: list[tuple[str, str, dict[str, str], float]] = []
    parts = parts_status()
    for name, state in parts.items():
        out.append(("wuyi_up", "1 when the part answers", {"part": name}, float(state == "ok")))
    if parts["broker"] == "ok":
        for queue, (depth, age) in queue_figures().items():
            out.append(("wuyi_queue_depth", "task messages waiting", {"queue": queue}, depth))
            out.append(
                (
                    "wuyi_queue_oldest_seconds",
                    "age of the oldest waiting task message",
                    {"queue": queue},
                    round(age, 3),
                )
            )
    if parts["database"] == "ok":
        due = Recipient.objects.filter(
            status=RecipientStatus.QUEUED, due_at__lte=timezone.now()
        ).aggregate(n=Count("id"), oldest=Min("due_at"))
        out.append(("wuyi_sms_due", "SMS recipients due and not yet claimed", {}, due["n"]))
        out.append(
            (
                "wuyi_sms_due_oldest_seconds",
                "how long the oldest due SMS recipient has waited",
                {},
                round(_age(due["oldest"]), 3),
            )
        )
        batches = Batch.objects.filter(state__in=[Batch.State.CLAIMED, Batch.State.RUNNING])
        out.append(("wuyi_sms_batches_open", "SMS batches claimed or running", {}, batches.count()))
        jobs = ImportJob.objects.filter(state__in=ImportJob.RUNNING).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        out.append(
            ("wuyi_import_jobs_running", "resident imports queued or running", {}, jobs["n"])
        )
        out.append(
            (
                "wuyi_import_jobs_oldest_seconds",
                "age of the oldest import queued or running",
                {},
                round(_age(jobs["oldest"]), 3),
            )
        )
    return out


def exposition(found: list[tuple[str, str, dict[str, str], float]]) -> str:
    """Prometheus' text format (version 0.0.4): HELP and TYPE once per name, then its samples."""
    lines: list[str] = []
    seen: set[str] = set()
    for name, help_text, labels, value in found:
        if name not in seen:
            seen.add(name)
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        label = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


def _authorised(request: HttpRequest) -> bool:
    token = settings.WUYI_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    return HttpResponse(
        exposition(figures()), content_type="text/plain; version=0.0.4; charset=utf-8"
    )
