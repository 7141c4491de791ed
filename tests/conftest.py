import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Tests never see each other's cached values (Redis in CI, local memory else)."""
    from django.conf import settings

    if not settings.configured:  # plain ML tests run without Django
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
