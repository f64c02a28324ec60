import pytest


@pytest.fixture(autouse=True)
def _fresh_figure_cache():
    """The figures kept for 15 minutes (compounds.figures.per_compound, the campaign's stages)
    are cached by day: a frozen clock would otherwise find another test's counts."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
