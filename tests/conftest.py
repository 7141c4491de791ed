import pytest
from django.conf import settings
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Tests never see each other's cached values (Redis in CI, local memory else)."""
    if not settings.configured:  # plain ML tests run without Django
        yield
        return
    _forget_cached_values()
    yield
    _forget_cached_values()


def _forget_cached_values() -> None:
    # Imported here: the shop's modules need Django's settings, which plain ML runs lack.
    from shop.search.cache import search_cache_invalidate

    cache.clear()
    search_cache_invalidate()  # and this process's copy of the generation
    try:  # the recommender's per-process copy of the search blend
        from recommender.search_blend import search_blend_forget
    except ImportError:  # the shop runs without the recommender too
        return
    search_blend_forget()
