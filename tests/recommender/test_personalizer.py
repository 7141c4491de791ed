"""The recommender's personalizer: recommendations with reasons and fallbacks, and search candidates re-ranked by the shopper's taste."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.urls import reverse

from recommender import personalizer as personalizer_module
from recommender.ml.ranking import LIVE_FEATURES
from recommender.models import UserRecommendation
from recommender.personalizer import RecommenderPersonalizer, shopper_segment
from shop.personalization import ScoredItem
from shop.popularity import popularity_refresh
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory
from tests.ranking import rank_items, search_candidates


def test_new_shopper_gets_the_fallback_and_no_model_means_fallback(shop_data, client):
    popularity_refresh()  # what the Celery task does every 10 minutes
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


# --- What staff see of a shopper (describe; the shopper inspector) --------------------


@pytest.mark.parametrize(
    ("interactions", "segment"),
    [(0, "cold"), (3, "cold"), (4, "warm"), (10, "warm"), (11, "hot"), (5000, "hot")],
)
def test_segments_use_the_evaluations_thresholds(interactions, segment):
    assert shopper_segment(interactions) == segment


def test_without_a_model_only_the_segment_is_known(shop_data):
    facts = RecommenderPersonalizer().describe(shopper=Shopper(user_id=shop_data[0].pk))

    assert facts == {
        "Segment": "warm (6 interactions the model reads; cold ≤ 3, hot ≥ 11)",
        "Served model": "none: the shop's default answers (popularity)",
    }


def test_a_shopper_is_known_when_the_served_model_trained_on_their_history(
    active_version, shop_data
):
    # make_shop: shopper u's events fall on day u of 2024.
    active_version.data_cutoff = datetime(2024, 1, 10, tzinfo=UTC)
    active_version.save()
    personalizer = RecommenderPersonalizer()

    early = personalizer.describe(shopper=Shopper(user_id=shop_data[0].pk))
    late = personalizer.describe(shopper=Shopper(user_id=shop_data[20].pk))

    assert early["Served model"].startswith(f"v{active_version.pk} (")
    assert early["New or known"].startswith("known: the served model trained on their history")
    assert (
        late["New or known"] == "new: no history up to the served model's data cutoff (2024-01-10)"
    )


def test_the_cached_top_k_and_vector_are_described(active_version, shop_data):
    user = shop_data[0]
    UserRecommendation.objects.create(
        user=user, model_version=active_version, items=[[900001, 0.5, None]] * 3, vector=b"\0" * 64
    )

    facts = RecommenderPersonalizer().describe(shopper=Shopper(user_id=user.pk))

    assert facts["Cached top-K"].startswith("3 items, computed 0")
    assert "newer events since" in facts["Cached top-K"]  # last_event_id was never set
    assert facts["Shopper vector"] == "stored, behind their newest event: computed when they search"


def test_a_list_of_another_version_is_said_to_be_stale(active_version, newer_version, shop_data):
    user = shop_data[0]
    UserRecommendation.objects.create(user=user, model_version=newer_version, items=[])

    facts = RecommenderPersonalizer().describe(shopper=Shopper(user_id=user.pk))

    assert facts["Cached top-K"].startswith(f"0 items of v{newer_version.pk}, another version")


def test_anonymous_and_opted_out_shoppers_are_described_as_served(active_version):
    personalizer = RecommenderPersonalizer()

    anonymous = personalizer.describe(shopper=Shopper(session_id="nobody-yet", personalize=False))

    assert anonymous["Segment"].startswith("cold (0 interactions")
    assert anonymous["Cached top-K"] == "none: an anonymous shopper is scored when they ask"
    assert anonymous["Shopper vector"] == "none: no history yet"
    assert anonymous["Personalization"].startswith("off (opted out)")


def test_the_inspector_shows_the_models_recommendations_with_reasons(
    admin_client, active_version, shop_data, settings
):
    settings.SHOP_PERSONALIZER = "recommender.personalizer.RecommenderPersonalizer"
    user = shop_data[0]

    response = admin_client.get(reverse("dashboards:inspector"), {"user": user.pk, "q": "thing"})

    assert response.status_code == 200
    reasons = [item.reason for _n, _product, item, _score in response.context["recommendations"]]
    assert reasons[0].startswith("Because you showed interest in “Thing number")
    assert response.context["described"]["Segment"].startswith("warm")
    page = response.content.decode()
    assert f"<td>{reasons[0]}</td>" in page
    assert "<th>Served model</th><td>v" in page
    labels = [c.label for c in response.context["explained"].columns]
    assert labels[:3] == ["Text match", "Taste", "Popularity"]
    assert "x_affinity" not in page
