"""The recommender's personalizer: recommendations with reasons and fallbacks, and search candidates re-ranked by the shopper's taste."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import personalizer as personalizer_module
from recommender.ml.ranking import LIVE_FEATURES
from recommender.personalizer import RecommenderPersonalizer
from shop.personalization import ScoredItem
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory
from tests.ranking import rank_items, search_candidates


def test_new_shopper_gets_the_fallback_and_no_model_means_fallback(shop_data, client):
    personalizer = RecommenderPersonalizer()
    items = personalizer.recommend(shopper=Shopper(user_id=shop_data[0].pk), limit=4)
    assert len(items) == 4 and all(i.reason == "Popular right now" for i in items)
    assert client.get("/").status_code == 200


def test_model_recommendations_carry_a_readable_reason(active_version, shop_data):
    items = RecommenderPersonalizer().recommend(shopper=Shopper(user_id=shop_data[0].pk), limit=4)
    assert items and items[0].reason.startswith("Because you")


@pytest.fixture
def candidates(db):
    products = [ProductFactory(title=f"Thing {n}") for n in range(4)]
    # Text order: product 0 best.
    return [
        ScoredItem(p.pk, 1.0 - 0.1 * n, components={"text": 1.0 - 0.1 * n})
        for n, p in enumerate(products)
    ]


def fake_signals(calls):
    def signals(*, user_id, session_id, product_ids, brand_ids=()):
        calls.append((user_id, session_id))
        # The shopper's taste: the last candidate most.
        n = len(product_ids)
        return {
            "affinity": np.arange(n, dtype=float),
            "similarity": np.arange(n, dtype=float) / 10,
            "bought": np.zeros(n),
            "brand": np.zeros(n),
            "co_bought": np.arange(n, dtype=float) / 5,
            "known": np.ones(n, bool),
        }

    return signals


@pytest.fixture
def signal_calls(monkeypatch):
    """The model's signals replaced by fake_signals; the list of who they were asked for."""
    calls = []
    monkeypatch.setattr(personalizer_module, "search_signal_arrays", fake_signals(calls))
    return calls


def ranked_for(shopper, candidates):
    return rank_items(
        RecommenderPersonalizer(), shopper=shopper, query="thing", candidates=candidates
    )


@pytest.mark.django_db
def test_the_shoppers_affinity_reorders_search_candidates(signal_calls, candidates):
    ranked = ranked_for(Shopper(user_id=UserFactory().pk), candidates)
    assert ranked[0].product_id == candidates[-1].product_id
    first = ranked[0].components
    assert set(LIVE_FEATURES) <= set(first)
    assert first["x_affinity"] == 3.0
    assert ranked[0].score == pytest.approx(sum(first[n] for n in LIVE_FEATURES))


@pytest.mark.django_db
@pytest.mark.parametrize("personalize", [True, False])
def test_the_columnar_ranking_is_the_item_ranking(signal_calls, candidates, personalize):
    shopper = Shopper(user_id=UserFactory().pk, personalize=personalize)
    columns = RecommenderPersonalizer().rank_search_columns(
        shopper=shopper, query="thing", candidates=search_candidates(candidates)
    )
    items = [columns.item(position) for position in range(len(columns))]
    assert columns.product_ids == [i.product_id for i in items]
    assert columns.scores == pytest.approx([i.score for i in items])
    for item in items:
        if personalize:  # the score is the sum of the features' shares
            assert item.score == pytest.approx(sum(item.components[n] for n in LIVE_FEATURES))
        assert dict(item.components) == pytest.approx(dict(item.components.items()))


@pytest.mark.django_db
def test_an_anonymous_shopper_is_personalized_from_the_session(signal_calls, candidates):
    ranked = ranked_for(Shopper(session_id="abc"), candidates)
    assert signal_calls == [(None, "abc")]
    assert ranked[0].product_id == candidates[-1].product_id


@pytest.mark.django_db
def test_a_shopper_who_opted_out_gets_the_text_order(signal_calls, candidates):
    ranked = ranked_for(Shopper(user_id=UserFactory().pk, personalize=False), candidates)
    assert signal_calls == []
    assert [r.product_id for r in ranked] == [c.product_id for c in candidates]


@pytest.mark.django_db
def test_without_an_active_model_the_text_order_stands(candidates):
    ranked = ranked_for(Shopper(user_id=UserFactory().pk), candidates)
    assert [r.product_id for r in ranked] == [c.product_id for c in candidates]


@pytest.mark.django_db
def test_a_product_the_shopper_already_bought_is_demoted(monkeypatch, candidates):
    def signals(*, user_id, session_id, product_ids, brand_ids=()):
        n = len(product_ids)
        bought = np.zeros(n)
        bought[0] = 1.0  # the best text match is one they already own
        return {
            "affinity": np.zeros(n),
            "similarity": np.zeros(n),
            "bought": bought,
            "brand": np.zeros(n),
            "co_bought": np.zeros(n),
            "known": np.ones(n, bool),
        }

    monkeypatch.setattr(personalizer_module, "search_signal_arrays", signals)
    ranked = ranked_for(Shopper(user_id=UserFactory().pk), candidates)
    assert ranked[-1].product_id == candidates[0].product_id
    assert ranked[-1].components["bought"] < 0
