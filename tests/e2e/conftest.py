"""Browser tests: Playwright drives the system Chromium (Debian's chromium package).

Playwright cannot download its own browser here, so the launch points at /usr/bin/chromium.
Without Chromium the browser tests are skipped with the reason printed; under CI=true a missing
Chromium fails the run instead, so CI never goes green without them.
"""

import io
import os
import shutil
import time

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told it is fine (it is: the loop is Playwright's, not ours).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("WUYI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # A container's /dev/shm is often 64 MB: a renderer that runs out of it stalls a navigation.
    "--disable-dev-shm-usage",
]
PHONE = {"width": 360, "height": 640}
# How long a click, a page or an expectation may take before the test fails. Generous: on a
# loaded CI machine (two cores shared with other work) a request once took more than 15 s; a
# page that never comes still fails.
ACTION_SECONDS = 30
expect.set_options(timeout=ACTION_SECONDS * 1000)
DESKTOP = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    reason = f"Chromium not found at {CHROMIUM}: apt-get install chromium to run browser tests"
    for item in items:
        if "e2e" in item.nodeid.split("::")[0]:
            if os.environ.get("CI") == "true":
                item.add_marker(pytest.mark.xfail(reason=reason, run=False, strict=True))
                raise pytest.UsageError(f"CI=true and {reason}")
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport) -> a page in a fresh context, in Chinese, at that size."""
    contexts = []

    def _new_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url)
        context.set_default_timeout(ACTION_SECONDS * 1000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir():
    """Set WUYI_SCREENSHOT_DIR to keep screenshots (docs/screenshots is refreshed this way)."""
    path = os.environ.get("WUYI_SCREENSHOT_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
    return path


# --------------------------------------------------------------------------- the demo data set

DEMO_FRESH_SECONDS = 300  # a copy older than this is seeded again: its times drift with the clock
_demo_copy: dict = {}


@pytest.fixture
def demo(transactional_db):
    """seed_demo's data set, as the browser tests start from it. Seeding takes seconds; on
    PostgreSQL with the Redis cache a worker seeds once (again each new Shanghai day, and when
    its copy is DEMO_FRESH_SECONDS old) and copies the tables back for the next test (COPY),
    ids included, then forgets what its cache held of the last test's rows."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    redis = settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    if connection.vendor != "postgresql" or not redis:
        _seed_demo()
        return
    day = timezone.localdate()
    copy = _demo_copy.get("tables")
    if (
        copy is not None
        and _demo_copy["day"] == day
        and time.monotonic() - _demo_copy["at"] < DEMO_FRESH_SECONDS
    ):
        _copy_back(copy)
    else:
        _seed_demo()
        _demo_copy.update(tables=_copy_out(), day=day, at=time.monotonic())
    _forget_this_workers_cache()


def _seed_demo() -> None:
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())


def _tables() -> list[str]:
    from django.db import connection

    return sorted(connection.introspection.django_table_names(only_existing=True))


def _copy_out() -> list[tuple[str, bytes]]:
    from django.db import connection

    quote = connection.ops.quote_name
    copy = []
    with connection.cursor() as cursor:
        for table in _tables():
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY {quote(table)} TO STDOUT", buffer)
            if buffer.tell():
                copy.append((table, buffer.getvalue()))
    return copy


def _copy_back(copy: list[tuple[str, bytes]]) -> None:
    """Every table emptied (the migrated rows written back at the test's start included: the
    copy holds them) and filled from the copy; the sequences set past the ids."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection, transaction

    quote = connection.ops.quote_name
    models = apps.get_models(include_auto_created=True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(quote(t) for t in _tables()))
        for table, data in copy:
            cursor.copy_expert(f"COPY {quote(table)} FROM STDIN", io.BytesIO(data))
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _forget_this_workers_cache() -> None:
    """The copy's ids are the last test's ids: what the cache kept per id (the figures per
    compound, 15 minutes) goes. Only this worker's keys (tests/conftest.py gives each its
    prefix): the other worker's test may be reading its own."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
