"""API v1, the signed-in shopper's own data (shop.api.me)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shop.models import EventType
from tests.factories import EventFactory, UserFactory
from tests.shop.api.helpers import MY_EVENTS_URL, post_events, valid_rows

pytestmark = pytest.mark.django_db


def test_my_events_needs_a_logged_in_shopper(client, catalogue):
    assert client.get(MY_EVENTS_URL).status_code in (401, 403)


def test_my_events_shows_only_my_own_events(client, catalogue, django_assert_max_num_queries):
    me, other = UserFactory(), UserFactory()
    now = timezone.now()
    EventFactory(user=me, product=catalogue["red"], occurred_at=now - timedelta(hours=2))
    mine_latest = EventFactory(
        user=me, product=catalogue["matte"], event_type=EventType.PURCHASE, occurred_at=now
    )
    EventFactory(user=None, session_id="anon", product=catalogue["red"], occurred_at=now)
    EventFactory(user=other, product=catalogue["red"], occurred_at=now)
    client.force_login(me)

    with django_assert_max_num_queries(4):  # session, user, events joined with products
        response = client.get(MY_EVENTS_URL)

    assert response.status_code == 200
    body = response.json()
    assert len(body) == 2
    assert body[0]["id"] == mine_latest.pk
    assert body[0]["type"] == "purchase"
    assert body[0]["sku"] == "MATTE-1"
    assert body[0]["event_id"] == mine_latest.client_event_id
    fields = "id event_id type product_id sku value query position context source occurred_at"
    assert set(body[0]) == set(fields.split())

    client.force_login(other)
    theirs = client.get(MY_EVENTS_URL).json()
    assert len(theirs) == 1 and theirs[0]["id"] not in {e["id"] for e in body}


def test_my_events_limit(client, catalogue):
    me = UserFactory()
    EventFactory.create_batch(3, user=me, product=catalogue["red"])
    EventFactory(user=me, product=None, event_type=EventType.SEARCH, query="red")
    client.force_login(me)

    assert len(client.get(MY_EVENTS_URL, {"limit": 2}).json()) == 2
    searches = [e for e in client.get(MY_EVENTS_URL).json() if e["type"] == "search"]
    assert searches[0]["sku"] is None and searches[0]["product_id"] is None
    for bad in ("0", "1000", "abc"):
        assert client.get(MY_EVENTS_URL, {"limit": bad}).status_code == 400


def test_events_posted_through_the_api_show_up_in_my_events(client, catalogue):
    client.force_login(UserFactory())
    post_events(client, valid_rows())

    body = client.get(MY_EVENTS_URL).json()

    assert {e["event_id"] for e in body} == {"e1", "e2", "e3", "e4"}
