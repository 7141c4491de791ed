"""Search re-ranking: the listwise blend, learning it from logged clicks, and the
recommender's personalizer ordering search candidates."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from recommender import personalizer as personalizer_module
from recommender.models import SearchBlend
from recommender.personalizer import RecommenderPersonalizer
from recommender.search_blend import (
    MIN_SEARCHES,
    search_blend_current,
    search_blend_learn_from_clicks,
)
from recommender.search_ranking import (
    DEFAULT_WEIGHTS,
    LIVE_FEATURES,
    BlendModel,
    fit_blend,
    standardize,
)
from shop.models import Event, EventType
from shop.personalization import ScoredItem
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory


def synthetic_lists(weights, n_lists=400, size=10, seed=0):
    rng = np.random.default_rng(seed)
    lists, targets = [], []
    for _ in range(n_lists):
        x = rng.normal(size=(size, len(weights)))
        logits = standardize(x) @ np.asarray(weights)
        p = np.exp(logits - logits.max())
        targets.append(int(rng.choice(size, p=p / p.sum())))
        lists.append(x)
    return lists, targets


def test_fit_blend_recovers_the_weights_that_generated_the_clicks():
    true = [2.0, 0.0, -1.0, 0.5]
    lists, targets = synthetic_lists(true, n_lists=2000)
    model = fit_blend(lists, targets, ["a", "b", "c", "d"], l2=1e-4)
    assert np.allclose(model.weights, true, atol=0.25)
    assert model.info["queries"] == 2000


def test_fit_blend_needs_a_list_with_two_candidates():
    with pytest.raises(ValueError):
        fit_blend([np.ones((1, 2))], [0], ["a", "b"])


def test_a_feature_constant_within_a_list_adds_nothing():
    model = BlendModel(("a", "b"), np.array([1.0, 5.0]))
    scores = model.score(np.array([[1.0, 3.0], [2.0, 3.0], [0.0, 3.0]]))
    assert list(np.argsort(-scores)) == [1, 0, 2]


# --- learning from the click log ---------------------------------------------------------


def log_searches(n, *, clicked_feature="affinity", seed=0):
    """Searches showing 5 products whose logged features are random; the shopper always
    clicks the product with the highest ``clicked_feature``."""
    rng = np.random.default_rng(seed)
    user = UserFactory()
    products = [ProductFactory() for _ in range(5)]
    now = timezone.now()
    column = LIVE_FEATURES.index(clicked_feature)
    for s in range(n):
        x = rng.normal(size=(5, len(LIVE_FEATURES)))
        order = rng.permutation(5)
        shown = [products[i].pk for i in order]
        search = Event.objects.create(
            user=user,
            event_type=EventType.SEARCH,
            query="thing",
            client_event_id=f"s{s}",
            occurred_at=now,
            context={
                "results": 5,
                "shown": shown,
                "components": [
                    {f"x_{name}": float(x[r, k]) for k, name in enumerate(LIVE_FEATURES)}
                    for r in range(5)
                ],
            },
        )
        Event.objects.create(
            user=user,
            event_type=EventType.CLICK,
            product_id=shown[int(np.argmax(x[:, column]))],
            position=int(np.argmax(x[:, column])) + 1,
            client_event_id=f"c{s}",
            occurred_at=now,
            context={"search_event_id": search.pk},
        )


@pytest.mark.django_db
def test_clicks_teach_the_blend_which_signal_shoppers_follow():
    log_searches(60, clicked_feature="affinity")

    blend = search_blend_learn_from_clicks(min_searches=50)

    assert blend is not None and blend.searches == 60
    assert max(blend.weights, key=blend.weights.get) == "affinity"
    assert search_blend_current().as_dict() == pytest.approx(blend.weights)


@pytest.mark.django_db
def test_the_click_log_is_learned_on_a_schedule(settings):
    from django_celery_beat.models import PeriodicTask

    from recommender.tasks import learn_search_blend

    task = PeriodicTask.objects.get(task="recommender.tasks.learn_search_blend")
    assert task.enabled and task.crontab is not None
    log_searches(MIN_SEARCHES, clicked_feature="popularity")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    blend_id = learn_search_blend.delay().get()
    blend = SearchBlend.objects.get(pk=blend_id)
    assert max(blend.weights, key=blend.weights.get) == "popularity"


@pytest.mark.django_db
def test_too_few_clicked_searches_keep_the_offline_defaults():
    log_searches(10)

    assert search_blend_learn_from_clicks(min_searches=50) is None
    assert not SearchBlend.objects.exists()
    assert search_blend_current().as_dict() == pytest.approx(DEFAULT_WEIGHTS)


# --- the personalizer --------------------------------------------------------------------


@pytest.fixture
def candidates(db):
    products = [ProductFactory(title=f"Thing {n}") for n in range(4)]
    # Text order: product 0 best.
    return [
        ScoredItem(p.pk, 1.0 - 0.1 * n, components={"text": 1.0 - 0.1 * n})
        for n, p in enumerate(products)
    ]


def fake_signals(calls):
    def signals(*, user_id, session_id, product_ids):
        calls.append((user_id, session_id))
        # The shopper's taste: the last candidate most.
        n = len(product_ids)
        return {
            "affinity": np.arange(n, dtype=float),
            "similarity": np.arange(n, dtype=float) / 10,
            "bought": np.zeros(n),
            "known": np.ones(n, bool),
        }

    return signals


@pytest.mark.django_db
def test_the_shoppers_affinity_reorders_search_candidates(monkeypatch, candidates):
    calls = []
    monkeypatch.setattr(personalizer_module.selectors, "search_signal_arrays", fake_signals(calls))
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(user_id=UserFactory().pk), query="thing", candidates=candidates
    )
    assert ranked[0].product_id == candidates[-1].product_id
    first = ranked[0].components
    assert set(LIVE_FEATURES) <= set(first)
    assert first["x_affinity"] == 3.0
    assert ranked[0].score == pytest.approx(sum(first[n] for n in LIVE_FEATURES))


@pytest.mark.django_db
@pytest.mark.parametrize("personalize", [True, False])
def test_the_columnar_ranking_is_the_item_ranking(monkeypatch, candidates, personalize):
    from shop.personalization import SearchCandidates

    monkeypatch.setattr(personalizer_module.selectors, "search_signal_arrays", fake_signals([]))
    shopper = Shopper(user_id=UserFactory().pk, personalize=personalize)
    personalizer = RecommenderPersonalizer()
    items = personalizer.rank_search(shopper=shopper, query="thing", candidates=candidates)
    columns = personalizer.rank_search_columns(
        shopper=shopper, query="thing", candidates=SearchCandidates.from_items(candidates)
    )
    assert columns.product_ids == [i.product_id for i in items]
    assert columns.scores == pytest.approx([i.score for i in items])
    for position, item in enumerate(items):
        shown = columns.item(position)
        assert (shown.product_id, shown.reason) == (item.product_id, item.reason)
        assert dict(shown.components) == pytest.approx(dict(item.components))


def test_item_rows_are_found_by_binary_search():
    from recommender.selectors import _item_rows
    from recommender.serving import LoadedModel

    class Vectors:
        def item_vectors(self):
            return [40, np.int64(10), 30, 20], np.eye(4, dtype=np.float32)

    loaded = LoadedModel(version_id=1, model=Vectors())
    rows = _item_rows(loaded, (20, 5, 40, 10, 99, 30))
    assert rows.tolist() == [3, -1, 0, 1, -1, 2]
    assert _item_rows(loaded, ()).tolist() == []


@pytest.mark.django_db
def test_an_anonymous_shopper_is_personalized_from_the_session(monkeypatch, candidates):
    calls = []
    monkeypatch.setattr(personalizer_module.selectors, "search_signal_arrays", fake_signals(calls))
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(session_id="abc"), query="thing", candidates=candidates
    )
    assert calls == [(None, "abc")]
    assert ranked[0].product_id == candidates[-1].product_id


@pytest.mark.django_db
def test_a_shopper_who_opted_out_gets_the_text_order(monkeypatch, candidates):
    calls = []
    monkeypatch.setattr(personalizer_module.selectors, "search_signal_arrays", fake_signals(calls))
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(user_id=UserFactory().pk, personalize=False),
        query="thing",
        candidates=candidates,
    )
    assert calls == []
    assert [r.product_id for r in ranked] == [c.product_id for c in candidates]


@pytest.mark.django_db
def test_without_an_active_model_the_text_order_stands(candidates):
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(user_id=UserFactory().pk), query="thing", candidates=candidates
    )
    assert [r.product_id for r in ranked] == [c.product_id for c in candidates]


@pytest.mark.django_db
def test_search_signals_come_from_the_active_model(active_version, shop_data, products):
    from recommender.selectors import search_signals

    user = shop_data[0]
    ids = [p.pk for p in products]
    signals = search_signals(user_id=user.pk, session_id="", product_ids=ids)

    assert set(signals["affinity"]) == set(ids)
    assert all(-1.0001 <= v <= 1.0001 for v in signals["similarity"].values())
    candidates = [ScoredItem(pid, 1.0, components={"text": 1.0}) for pid in ids]
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(user_id=user.pk), query="thing", candidates=candidates
    )
    by_id = {r.product_id: r for r in ranked}
    assert all(by_id[pid].components["x_affinity"] == a for pid, a in signals["affinity"].items())
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


@pytest.mark.django_db(transaction=True)
def test_a_shoppers_vector_is_cached_until_their_history_changes(
    active_version, shop_data, products, django_assert_num_queries
):
    from recommender.selectors import search_signals
    from shop.events.record import event_record

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
def test_a_product_the_shopper_already_bought_is_demoted(monkeypatch, candidates):
    def signals(*, user_id, session_id, product_ids):
        n = len(product_ids)
        bought = np.zeros(n)
        bought[0] = 1.0  # the best text match is one they already own
        return {
            "affinity": np.zeros(n),
            "similarity": np.zeros(n),
            "bought": bought,
            "known": np.ones(n, bool),
        }

    monkeypatch.setattr(personalizer_module.selectors, "search_signal_arrays", signals)
    ranked = RecommenderPersonalizer().rank_search(
        shopper=Shopper(user_id=UserFactory().pk), query="thing", candidates=candidates
    )
    assert ranked[-1].product_id == candidates[0].product_id
    assert ranked[-1].components["bought"] < 0
