"""What the model knows of a shopper: stored by the refresh, read by search, recomputed when behind."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from recommender.models import UserRecommendation
from recommender.serving.histories import histories_for_users, latest_event_id
from recommender.serving.model import active_model
from recommender.serving.search import search_signals
from recommender.serving.shoppers import shopper_state
from shop.models import Event

pytestmark = pytest.mark.django_db


def _count_model_calls(monkeypatch, loaded):
    calls = []
    original = loaded.model.user_vectors

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "user_vectors", counting)
    return calls


def test_search_reads_the_vector_the_refresh_stored(active_version, shop_data, monkeypatch):
    user = shop_data[0]
    call_command("refresh_recommendations")
    row = UserRecommendation.objects.get(user=user)
    history = histories_for_users([user.pk], max_len=50)[user.pk]
    assert row.last_event_id == latest_event_id(user.pk)
    assert row.recent[0] == history[0][-1]  # newest first
    loaded = active_model()
    live = loaded.model.user_vectors([history[0]], [history[1]], [history[2]])[0]
    np.testing.assert_allclose(np.frombuffer(bytes(row.vector), np.float32), live, atol=1e-5)

    bought = [p for p, t in zip(history[0], history[2], strict=True) if t == "purchase"]
    assert bought and sorted(row.purchased) == sorted(set(bought))

    calls = _count_model_calls(monkeypatch, loaded)
    state = shopper_state(loaded, user_id=user.pk, session_id="")
    assert calls == []  # no forward pass on the request path
    np.testing.assert_allclose(state.vector, live, atol=1e-5)
    assert state.purchased == frozenset(bought)

    signals = search_signals(user_id=user.pk, session_id="", product_ids=[bought[0], history[0][0]])
    assert signals["bought"][bought[0]] == 1.0


def test_a_stored_vector_behind_the_history_is_not_used(active_version, shop_data, monkeypatch):
    user = shop_data[0]
    call_command("refresh_recommendations")
    # An event the refresh has not seen (its worker is down, say).
    newest = Event.objects.filter(user=user).order_by("-occurred_at").first()
    Event.objects.create(
        user=user,
        product_id=newest.product_id,
        event_type="purchase",
        source="test",
        client_event_id="behind-1",
        occurred_at=timezone.now(),
    )
    loaded = active_model()
    calls = _count_model_calls(monkeypatch, loaded)
    state = shopper_state(loaded, user_id=user.pk, session_id="")
    assert calls == [1]  # computed from the live history instead
    assert state.recent[0] == newest.product_id
    assert latest_event_id(user.pk) > UserRecommendation.objects.get(user=user).last_event_id
