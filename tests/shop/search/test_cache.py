"""The two-level cache of lexical matches: generations, the per-process copy, invalidation."""

import dataclasses
import time
from decimal import Decimal

import pytest
from django.test import override_settings

from shop.caching import cache_incr
from shop.importers import import_product_rows, read_rows
from shop.models import Brand
from shop.search import cache, matches
from shop.search.cache import search_cache_invalidate
from tests.shop.search.helpers import API_SEARCH_URL, run, titles

pytestmark = pytest.mark.django_db


def test_bulk_updates_show_after_the_search_cache_is_invalidated(tools):
    assert run("festool").total == 0
    Brand.objects.filter(pk=tools["roll80"].brand_id).update(name="Festool")
    assert run("festool").total == 0  # cached: a bulk update sends no signal
    search_cache_invalidate()
    assert run("festool").total == 2


def test_a_repeated_search_reads_its_matches_from_the_cache(tools, django_assert_num_queries):
    first = run("roll")
    # The matches, total, facets and the page's products all come from the cache.
    with django_assert_num_queries(0):
        again = run("roll")
    assert titles(again) == titles(first)
    assert again.total == first.total and again.facets == first.facets
    # Every search gets its own product instances (views set attributes on them).
    again.hits[0].product.title = "changed by a view"
    assert titles(run("roll")) == titles(first)


def _count_shared_cache_reads(monkeypatch) -> list[str]:
    reads = []
    original = matches.cache_get

    def counting(key, default=None):
        reads.append(key)
        return original(key, default)

    monkeypatch.setattr(matches, "cache_get", counting)
    return reads


def test_a_repeated_search_is_served_by_this_processs_own_copy(tools, monkeypatch):
    first = run("roll")
    reads = _count_shared_cache_reads(monkeypatch)
    again = run("roll")
    assert titles(again) == titles(first)
    assert not [key for key in reads if key.startswith("shop:search:") and "generation" not in key]
    assert len(cache.local_matches) == 1


def test_the_process_copy_is_bounded_by_its_byte_budget(tools, settings, monkeypatch):
    settings.SEARCH_LOCAL_CACHE_BYTES = 0  # off: every search asks the shared cache
    run("roll")
    reads = _count_shared_cache_reads(monkeypatch)
    run("roll")
    assert any(key.startswith("shop:search:") and "generation" not in key for key in reads)
    assert len(cache.local_matches) == 0
    # Room for one entry: the least recently used one leaves.
    run("sanding")
    settings.SEARCH_LOCAL_CACHE_BYTES = 10**9
    run("roll")
    size = max(entry[1] for entry in cache.local_matches._entries.values())
    settings.SEARCH_LOCAL_CACHE_BYTES = size + 1
    run("sanding")
    assert len(cache.local_matches) == 1
    assert cache.local_matches._bytes <= size + 1


def test_the_process_copy_expires(tools, settings, monkeypatch):
    settings.SEARCH_LOCAL_CACHE_SECONDS = 30
    run("roll")
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 31)
    monkeypatch.setattr(cache, "_generation_seen", [None, 0.0])
    reads = _count_shared_cache_reads(monkeypatch)
    assert run("roll").total == 2
    assert any(key.startswith("shop:search:") and "generation" not in key for key in reads)


def test_a_save_in_another_process_shows_once_this_one_rereads_the_generation(tools, monkeypatch):
    """Another process's save: the shared generation moves on, this process's copy (of
    the old generation) is no longer read once the generation memo is refreshed."""

    assert run("festool").total == 0
    Brand.objects.filter(pk=tools["roll80"].brand_id).update(name="Festool")
    cache_incr(cache.SEARCH_GENERATION_KEY)  # as search_cache_invalidate elsewhere does
    assert run("festool").total == 0  # within GENERATION_REFRESH_SECONDS: the old copy
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + cache.GENERATION_REFRESH_SECONDS + 0.1)
    assert run("festool").total == 2


def test_searches_sharing_cached_matches_cannot_change_them(tools):
    result = run("roll")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.facets["category"][0].count = 99
    assert run("roll").facets == result.facets


def test_a_saved_product_shows_its_new_details_in_the_next_search(tools):
    assert {h.product.price for h in run("roll").hits} != {Decimal("1.00")}
    tools["roll80"].price = Decimal("1.00")
    tools["roll80"].title = "80 grit sanding roll, value pack"
    tools["roll80"].save()
    hits = {h.product.pk: h.product for h in run("roll").hits}
    assert hits[tools["roll80"].pk].price == Decimal("1.00")
    assert hits[tools["roll80"].pk].title == "80 grit sanding roll, value pack"


def test_the_cache_key_holds_every_filter(tools):
    assert run("roll").total == 2
    assert run("roll", in_stock=1).total == 2
    assert run("roll", brand=tools["tape"].brand_id).total == 0
    assert run("grit", price_max="1").total == 0


def test_saving_a_product_shows_in_the_next_search(tools):
    assert run("roll").total == 2
    tools["roll80"].is_active = False
    tools["roll80"].save()
    assert titles(run("roll")) == ["120 grit sanding roll"]


def test_importing_products_shows_in_the_next_search(tools, tmp_path):
    assert run("sandpaper").total == 0
    path = tmp_path / "products.csv"
    path.write_text("sku,title\nSP-1,Sandpaper sheets\n", encoding="utf-8")
    import_product_rows(read_rows(path), file_name=path.name, on_error=print)
    assert run("sandpaper").total == 1


def test_search_works_when_the_cache_raises(tools, client):
    unreachable = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
            "IGNORE_EXCEPTIONS": False,
        },
    }
    with override_settings(CACHES={"default": unreachable}):
        assert run("roll").total == 2
        response = client.get(API_SEARCH_URL, {"q": "roll"})
    assert response.status_code == 200
    assert response.json()["total"] == 2


def test_nothing_is_kept_in_the_process_while_the_shared_cache_is_down(tools, monkeypatch):
    """Without the shared generation, saves in other processes could not be seen."""
    cache.local_matches.clear()
    monkeypatch.setattr(cache, "_generation_seen", [None, 0.0])
    unreachable = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
    with override_settings(CACHES={"default": unreachable}):
        assert run("roll").total == 2
        assert run("roll").total == 2
    assert len(cache.local_matches) == 0
