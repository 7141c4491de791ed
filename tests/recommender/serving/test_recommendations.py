"""A shopper's recommendations (cache, Postgres, online) and similar items."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command

from recommender.serving import model as serving
from recommender.serving.recommendations import recommendations_for_user, similar_items
from shop.models import Product

pytestmark = pytest.mark.django_db


def test_recommendations_never_include_what_the_shopper_already_has(active_version, shop_data):
    user = shop_data[0]
    recs = recommendations_for_user(user_id=user.pk, limit=5)
    assert len(recs) == 5
    owned = set(user.events.values_list("product_id", flat=True))
    assert not owned & {r.product_id for r in recs}
    assert all(r.reason_product_id in owned for r in recs)  # each reason is a history item


def test_inactive_and_out_of_stock_products_are_not_recommended(
    active_version, shop_data, products
):
    user = shop_data[0]
    first = recommendations_for_user(user_id=user.pk, limit=3)
    banned = {first[0].product_id, first[1].product_id}
    Product.objects.filter(pk=first[0].product_id).update(is_active=False)
    Product.objects.filter(pk=first[1].product_id).update(stock=0)
    again = recommendations_for_user(user_id=user.pk, limit=3)
    assert not banned & {r.product_id for r in again}


def test_cached_list_is_served_from_redis_then_postgres(active_version, shop_data, settings):
    user = shop_data[1]
    call_command("refresh_recommendations")
    assert recommendations_for_user(user_id=user.pk, limit=5)[0].source in (
        "cache",
        "database",
    )
    cache.clear()  # as if Redis lost everything (or is down: see the next test)
    assert recommendations_for_user(user_id=user.pk, limit=5)[0].source == "database"


def test_redis_down_serving_reads_the_postgres_cache(active_version, shop_data, settings):
    call_command("refresh_recommendations")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    serving.reset()
    recs = recommendations_for_user(user_id=shop_data[2].pk, limit=5)
    assert recs and recs[0].source == "database"


def test_similar_items_come_from_the_item_vectors(active_version, products):
    similar = similar_items(product_id=products[0].pk, limit=4)
    assert len(similar) == 4 and products[0].pk not in {s.product_id for s in similar}
