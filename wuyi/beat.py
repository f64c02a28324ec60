"""Celery beat that fires only while it holds a lock in Redis (settings.CELERY_BEAT_SCHEDULER).

DESIGN.md wants one beat. Two happen anyway: a node started twice, a failover that overlapped,
a systemd unit enabled on two machines. Each would fire every entry, and the dispatchers would
run twice as often (harmless, they claim rows, but the housekeeping and the roster jobs would
double their load). So a beat fires only while it holds `wuyi:beat-lock` in Redis: it takes the
lock with SET NX and a time-to-live (WUYI_BEAT_LOCK_SECONDS), renews it at every tick (ticks
come at most every third of that), and a second beat finds it taken and waits, firing nothing,
until the first has stopped renewing it (killed: within the time-to-live; stopped: at once, it
releases the lock). If Redis cannot be reached, no beat fires: the broker is down too.

Without REDIS_URL (the embedded default on one machine) there is no lock to take: it fires.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from celery.beat import PersistentScheduler

log = logging.getLogger("wuyi.beat")

LOCK_KEY = "wuyi:beat-lock"


class BeatLock:
    """A lock in Redis that one holder renews; `hold()` says whether we hold it now."""

    def __init__(self, url: str, *, seconds: int, key: str = LOCK_KEY) -> None:
        self.url = url
        self.seconds = max(3, seconds)
        self.key = key
        self._lock: Any = None
        self.held = False

    def _redis_lock(self) -> Any:
        if self._lock is None:
            import redis

            client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
            self._lock = client.lock(self.key, timeout=self.seconds, blocking=False)
        return self._lock

    def hold(self) -> bool:
        """Take the lock, or renew it when we hold it. False: another beat holds it, or Redis
        cannot be reached."""
        from redis.exceptions import LockError, RedisError

        lock = self._redis_lock()
        was_held = self.held
        try:
            if self.held:
                try:
                    lock.reacquire()
                except LockError:  # expired (a long pause) or taken over: start again
                    self.held = False
            if not self.held:
                self.held = bool(lock.acquire(blocking=False))
        except RedisError as exc:
            self.held = False
            log.warning("beat: Redis cannot be reached (%s); firing nothing", type(exc).__name__)
        if self.held != was_held:
            log.warning(
                "beat: %s the lock %s",
                "holding" if self.held else "lost or waiting for",
                self.key,
            )
        return self.held

    def release(self) -> None:
        from redis.exceptions import LockError, RedisError

        if self.held and self._lock is not None:
            with contextlib.suppress(LockError, RedisError):
                self._lock.release()
        self.held = False

    @property
    def renew_every(self) -> float:
        return self.seconds / 3


class LockedScheduler(PersistentScheduler):
    """PersistentScheduler whose ticks fire only under the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        url = getattr(settings, "REDIS_URL", "")
        self.beat_lock: BeatLock | None = (
            BeatLock(url, seconds=settings.WUYI_BEAT_LOCK_SECONDS) if url else None
        )
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if self.beat_lock is None:
            return super().tick(*args, **kwargs)
        if not self.beat_lock.hold():
            return self.beat_lock.renew_every
        return min(super().tick(*args, **kwargs), self.beat_lock.renew_every)

    def close(self) -> None:
        if self.beat_lock is not None:
            self.beat_lock.release()
        super().close()
