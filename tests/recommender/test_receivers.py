"""Signals -> tasks: a new event re-scores the shopper; a deleted shopper leaves nothing cached."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command

from recommender.models import UserRecommendation
from recommender.serving.model import active_model
from recommender.serving.recommendations import recs_cache_key
from recommender.serving.shoppers import shopper_state, shopper_state_key

pytestmark = pytest.mark.django_db


def test_a_new_view_re_scores_that_shopper(
    active_version, shop_data, products, client, django_capture_on_commit_callbacks
):
    user = shop_data[0]
    call_command("refresh_recommendations")
    before = UserRecommendation.objects.get(user=user)
    target = before.items[0][0]
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/products/{target}/").status_code == 200
    after = UserRecommendation.objects.get(user=user)
    assert after.computed_at > before.computed_at
    assert target not in [row[0] for row in after.items]  # now in the history


def test_deleting_a_shopper_leaves_nothing_cached(active_version, shop_data):
    user = shop_data[0]
    call_command("refresh_recommendations")
    loaded = active_model()
    shopper_state(loaded, user_id=user.pk, session_id="")
    keys = [recs_cache_key(user.pk), shopper_state_key(user_id=user.pk, session_id="")]
    assert all(cache.get(k) is not None for k in keys)
    user.delete()
    assert all(cache.get(k) is None for k in keys)
    assert not UserRecommendation.objects.filter(user_id=user.pk).exists()
