import pytest


@pytest.fixture(autouse=True)
def _fresh_figure_cache(settings):
    """The figures kept for 15 minutes (compounds.figures.cached_per_compound) are cached by
    day: with a frozen clock one test would find another's counts. Each test gets an empty
    cache of its own process (not the shared file cache other workers' tests use)."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "dashboards-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()
