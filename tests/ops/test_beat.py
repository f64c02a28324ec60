"""Two beats never double-fire: only the one holding the Redis lock fires (wuyi/beat.py)."""

import os
import time
import uuid

import pytest
from celery import Celery
from django.conf import settings

from wuyi.beat import BeatLock, LockedScheduler

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="REDIS_URL not set: no Redis to hold the lock in"
)


@pytest.fixture
def key():
    name = f"wuyi:test-beat-lock:{uuid.uuid4().hex[:8]}"
    yield name
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete(name)


def test_one_holder_at_a_time(key):
    first = BeatLock(settings.REDIS_URL, seconds=30, key=key)
    second = BeatLock(settings.REDIS_URL, seconds=30, key=key)
    assert first.hold() is True
    assert second.hold() is False
    assert first.hold() is True  # renewed
    assert second.hold() is False
    first.release()  # a beat that stops lets the other take over at once
    assert second.hold() is True
    assert first.hold() is False


def test_a_lock_that_expired_is_taken_over_and_the_old_holder_stops(key):
    import redis

    first = BeatLock(settings.REDIS_URL, seconds=30, key=key)
    second = BeatLock(settings.REDIS_URL, seconds=30, key=key)
    assert first.hold()
    redis.Redis.from_url(settings.REDIS_URL).delete(key)  # the time-to-live ran out
    assert second.hold() is True
    assert first.hold() is False  # the paused beat wakes up and finds it gone: it fires nothing


def test_no_redis_no_firing():
    assert BeatLock("redis://127.0.0.1:1/0", seconds=30).hold() is False


class Recording(LockedScheduler):
    def __init__(self, *args, **kwargs):
        self.fired: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.fired.append(entry.name)


def test_two_beats_fire_each_entry_once(key, tmp_path):
    app = Celery("beat-test", set_as_current=False)
    app.conf.beat_schedule = {"tick": {"task": "accounts.purge_access_logs", "schedule": 0.2}}
    beats = []
    for n in range(2):
        beat = Recording(app=app, schedule_filename=str(tmp_path / f"beat{n}"))
        beat.beat_lock = BeatLock(settings.REDIS_URL, seconds=30, key=key)
        beats.append(beat)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        for beat in beats:
            beat.tick()
        time.sleep(0.05)
    one, other = beats
    assert len(one.fired) >= 3 and other.fired == []
    # The first stops (systemd, a deploy): the second takes over and fires.
    one.close()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        other.tick()
        time.sleep(0.05)
    assert other.fired
    other.close()
