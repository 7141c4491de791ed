"""A shopper's recommendations (cache, Postgres, online) and similar items."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from recommender.ml import ServedModel
from recommender.models import ModelVersion
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


WEIGHTS = {"transformer": (1.0, 0.0), "transitions": (0.0, 1.0), "ensemble": (1.0, 0.5)}


def _serve(trained_artifact, tmp_path, kind: str) -> ServedModel:
    """The session's model re-weighted to serve as ``kind``, as the active version."""
    trained = ServedModel.load(trained_artifact)
    served = ServedModel(trained.transformer, trained.transitions, WEIGHTS[kind])
    path = served.save(tmp_path / kind)
    ModelVersion.objects.update(is_active=False)
    ModelVersion.objects.create(
        artifact_path=str(path), holdout_ndcg=0.5, is_active=True, activated_at=timezone.now()
    )
    serving.reset()
    return served


@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_similar_items_for_each_kind(shop_data, products, trained_artifact, tmp_path, kind):
    served = _serve(trained_artifact, tmp_path, kind)
    assert serving.active_model().model.kind == kind
    product = products[5]  # shoppers view the products in a cycle: 4, 5, 6, ...
    similar = similar_items(product_id=product.pk, limit=4)
    ids = [s.product_id for s in similar]
    assert len(ids) == 4 and product.pk not in ids
    assert all(s.reason_product_id == product.pk for s in similar)
    if kind == "transformer":  # the item vectors' nearest by cosine
        vectors = served.transformer.item_vectors_internal()
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        row = served.item_vocab.index[product.pk]
        cosine = unit @ unit[row]
        cosine[[0, 1, row]] = -np.inf  # padding, out-of-vocabulary, the product itself
        nearest = served.item_vocab.decode(np.argsort(-cosine, kind="stable")[:4])
        assert ids == nearest
    else:  # the items before and after it
        assert set(ids[:2]) == {products[4].pk, products[6].pk}


def test_similar_items_leave_out_products_not_for_sale(
    shop_data, products, trained_artifact, tmp_path
):
    _serve(trained_artifact, tmp_path, "transitions")
    Product.objects.filter(pk=products[6].pk).update(is_active=False)
    ids = [s.product_id for s in similar_items(product_id=products[5].pk, limit=4)]
    assert products[6].pk not in ids and products[4].pk == ids[0]
    assert similar_items(product_id=123456789, limit=4) == []  # unknown to the model
