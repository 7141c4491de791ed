"""The shared cache's window counter (shop.caching.cache_count)."""

import os

import pytest
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from shop.caching import cache_count


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_a_redis_window_counter_counts_and_expires_with_its_window():
    key = f"throttle-test:{os.getpid()}"
    assert [cache_count(key, timeout=61) for _ in range(3)] == [1, 2, 3]
    redis = cache.client.get_client(write=True)
    assert 0 < redis.ttl(cache.client.make_key(key)) <= 61


def test_a_counter_in_any_other_cache_counts_too():
    backend = LocMemCache("throttle-test", {})
    assert [cache_count("k", timeout=61, backend=backend) for _ in range(3)] == [1, 2, 3]
