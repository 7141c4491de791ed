import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Tests never see each other's cached values (Redis in CI, local memory else)."""
    from django.conf import settings

    if not settings.configured:  # plain ML tests run without Django
        yield
        return
    from django.core.cache import cache

    def clear() -> None:
        cache.clear()
        from shop.search import search_cache_invalidate

        search_cache_invalidate()  # and this process's copy of the generation
        try:  # the recommender's per-process copy of the search blend
            from recommender.search_blend import search_blend_forget
        except ImportError:  # the shop runs without the recommender too
            return
        search_blend_forget()

    clear()
    yield
    clear()
