"""The active model's signals for search re-ranking."""

from __future__ import annotations

import pytest

from recommender.personalizer import RecommenderPersonalizer
from recommender.serving.search import search_signals
from shop.events.record import event_record
from shop.models import Product
from shop.personalization import ScoredItem
from shop.shoppers import Shopper
from tests.factories import BrandFactory
from tests.ranking import rank_items


@pytest.mark.django_db
def test_search_signals_come_from_the_active_model(active_version, shop_data, products):
    user = shop_data[0]
    ids = [p.pk for p in products]
    signals = search_signals(user_id=user.pk, session_id="", product_ids=ids)

    assert set(signals["affinity"]) == set(ids)
    assert all(-1.0001 <= v <= 1.0001 for v in signals["similarity"].values())
    candidates = [ScoredItem(pid, 1.0, components={"text": 1.0}) for pid in ids]
    ranked = rank_items(
        RecommenderPersonalizer(),
        shopper=Shopper(user_id=user.pk),
        query="thing",
        candidates=candidates,
    )
    by_id = {r.product_id: r for r in ranked}
    assert all(by_id[pid].components["x_affinity"] == a for pid, a in signals["affinity"].items())
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


@pytest.mark.django_db(transaction=True)
def test_a_shoppers_vector_is_cached_until_their_history_changes(
    active_version, shop_data, products, django_assert_num_queries
):
    user = shop_data[0]
    ids = [p.pk for p in products]
    first = search_signals(user_id=user.pk, session_id="", product_ids=ids)
    with django_assert_num_queries(0):  # the vector and latest products come from the cache
        again = search_signals(user_id=user.pk, session_id="", product_ids=ids)
    assert again == first

    # A search names no product: the cached vector stands.
    event_record(shopper=Shopper(user_id=user.pk), event_type="search", query="thing")
    with django_assert_num_queries(0):
        search_signals(user_id=user.pk, session_id="", product_ids=ids)

    # A view changes their history: the vector is recomputed and the newest product is
    # now the one the "similarity" signal compares with.
    newest = products[-1]
    event_record(shopper=Shopper(user_id=user.pk), event_type="view", product_id=newest.pk)
    after = search_signals(user_id=user.pk, session_id="", product_ids=ids)
    assert after["similarity"][newest.pk] == pytest.approx(1.0, abs=1e-4)
    assert after["affinity"] != first["affinity"]


@pytest.mark.django_db
def test_brand_share_is_the_share_of_the_shoppers_latest_products_of_that_brand(
    active_version, shop_data, products
):
    first, second = BrandFactory(), BrandFactory()
    for n, product in enumerate(products):
        Product.objects.filter(pk=product.pk).update(brand=first if n < 6 else second)
    user = shop_data[0]  # had products 0..5, all of the first brand
    ids = [p.pk for p in products]
    brands = [first.pk if n < 6 else second.pk for n in range(len(ids))]

    signals = search_signals(user_id=user.pk, session_id="", product_ids=ids, brand_ids=brands)

    assert [signals["brand"][pid] for pid in ids] == [1.0] * 6 + [0.0] * 6
    # Without the candidates' brands (a plug-in caller), the signal is 0 for all.
    plain = search_signals(user_id=user.pk, session_id="", product_ids=ids)
    assert set(plain["brand"].values()) == {0.0}


@pytest.mark.django_db
def test_co_bought_favours_what_other_shoppers_had_next_to_the_shoppers_latest(
    active_version, shop_data, products
):
    user = shop_data[0]  # had products 0..5; shoppers view them in a cycle
    ids = [p.pk for p in products]

    co_bought = search_signals(user_id=user.pk, session_id="", product_ids=ids)["co_bought"]

    unseen = ids[6:]
    assert max(unseen, key=co_bought.get) == ids[6]  # the one after their newest
    assert co_bought[ids[6]] > co_bought[ids[9]] > 0
    assert all(v >= 0 for v in co_bought.values())
