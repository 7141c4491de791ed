"""Signals -> tasks: a new event re-scores the shopper; a deleted shopper leaves nothing cached."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from recommender.models import UserRecommendation
from recommender.serving.model import active_model
from recommender.serving.recommendations import recs_cache_key
from recommender.serving.refresh import user_recommendations_refresh_one
from recommender.serving.shoppers import shopper_state, shopper_state_key
from shop.models import Event

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


def test_signing_in_on_a_device_re_scores_the_shopper_with_its_history(
    active_version, shop_data, products, client, django_capture_on_commit_callbacks
):
    """The app's anonymous device history joins the shopper at sign-in, and their
    recommendations change at once."""
    user = shop_data[0]  # UserFactory's password
    call_command("refresh_recommendations")
    before = UserRecommendation.objects.get(user=user)
    target = before.items[0][0]
    Event.objects.create(
        session_id="device:phone-1234",
        product_id=target,
        event_type="view",
        source="app",
        client_event_id="d1",
        occurred_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("v1:auth-token"),
            data=json.dumps({"username": user.username, "password": "pass-word-123"}),
            content_type="application/json",
            HTTP_X_DEVICE_ID="phone-1234",
        )
    assert response.status_code == 200
    assert Event.objects.get(client_event_id="d1").user_id == user.pk
    after = UserRecommendation.objects.get(user=user)
    assert after.computed_at > before.computed_at
    assert target not in [row[0] for row in after.items]


def test_the_export_and_deletion_include_the_cached_top_k(active_version, shop_data, client):
    user = shop_data[0]
    call_command("refresh_recommendations")
    stored = UserRecommendation.objects.get(user=user)
    client.force_login(user)

    export = json.loads(b"".join(client.get(reverse("v1:me-export")).streaming_content))
    assert [row["items"] for row in export["recommendations"]] == [stored.items]

    response = client.post(
        reverse("v1:me-delete"),
        data=json.dumps({"password": "pass-word-123"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["deleted"]["recommendations"] == 1
    assert not UserRecommendation.objects.filter(user_id=user.pk).exists()


def test_a_re_scored_shopper_is_answered_anew_through_the_api(active_version, shop_data, client):
    """The refresh tells the shop (personalization_changed): the page it kept is dropped."""
    user = shop_data[0]
    call_command("refresh_recommendations")
    client.force_login(user)
    url = reverse("v1:recommendations")
    first = [p["id"] for p in client.get(url).json()]
    Event.objects.create(  # no signal: only the refresh can tell the shop
        user=user,
        product_id=first[0],
        event_type="view",
        client_event_id="quiet-1",
        occurred_at=timezone.now(),
    )
    assert [p["id"] for p in client.get(url).json()] == first  # the kept page

    user_recommendations_refresh_one(user_id=user.pk)

    personal = [p["id"] for p in client.get(url).json() if p["reason"].startswith("Because")]
    assert personal and first[0] not in personal  # now in the history
