"""Learning the search blend from logged searches and clicks."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from recommender.ml.ranking import DEFAULT_WEIGHTS, LIVE_FEATURES
from recommender.models import SearchBlend
from recommender.search_blend import search_blend_current, search_blend_learn_from_clicks
from shop.models import Event, EventType
from tests.factories import ProductFactory, UserFactory


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
def test_too_few_clicked_searches_keep_the_offline_defaults():
    log_searches(10)

    assert search_blend_learn_from_clicks(min_searches=50) is None
    assert not SearchBlend.objects.exists()
    served = {term: w for term, w in search_blend_current().as_dict().items() if w}
    assert served == pytest.approx({term: w for term, w in DEFAULT_WEIGHTS.items() if w})
