"""The mobile app's REST API (v1): products, search, recommendations, event batches,
the shopper's own events, throttling, CSRF and the OpenAPI schema.

Requests go through the real URLconf and middleware; the test client re-raises any
exception of a view, so a 500 fails the test.
"""

import ast
import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from shop.api import base as api_views
from shop.api import events as api_events
from shop.models import Category, Event, EventType, Product
from shop.personalization import DefaultPersonalizer, ScoredItem
from shop.signals import events_recorded
from tests.factories import BrandFactory, EventFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PRODUCTS_URL = reverse("v1:product-list")
SEARCH_URL = reverse("v1:search")
RECOMMENDATIONS_URL = reverse("v1:recommendations")
EVENTS_URL = reverse("v1:events")
MY_EVENTS_URL = reverse("v1:my-events")


def detail_url(pk):
    return reverse("v1:product-detail", args=[pk])


def similar_url(pk):
    return reverse("v1:product-similar", args=[pk])


def post_events(client, events, **extra):
    return client.post(
        EVENTS_URL, data=json.dumps({"events": events}), content_type="application/json", **extra
    )


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def catalogue():
    beauty = Category.objects.create(name="Beauty", slug="beauty")
    lipstick = Category.objects.create(name="Lipstick", parent=beauty, slug="lipstick")
    hair = Category.objects.create(name="Hair", slug="hair")
    glow = BrandFactory(name="Glowco", slug="glowco")
    acme = BrandFactory(name="Acme", slug="acme")
    return {
        "beauty": beauty,
        "lipstick": lipstick,
        "hair": hair,
        "glow": glow,
        "acme": acme,
        "red": ProductFactory(
            sku="RED-1",
            title="Red velvet lipstick",
            category=lipstick,
            brand=glow,
            price=Decimal("10.00"),
            stock=5,
        ),
        "matte": ProductFactory(
            sku="MATTE-1",
            title="Matte lipstick",
            category=lipstick,
            brand=acme,
            price=Decimal("20.00"),
            stock=0,
        ),
        "shampoo": ProductFactory(
            sku="SHAMPOO-1",
            title="Shampoo",
            category=hair,
            brand=None,
            price=None,
            currency="",
            stock=1,
        ),
        "gone": ProductFactory(
            sku="GONE-1", title="Gone lipstick", category=lipstick, brand=glow, is_active=False
        ),
    }


class FakePersonalizer(DefaultPersonalizer):
    """Answers with a fixed list (including an inactive product) and records the shopper."""

    calls: list = []
    answer: list[int] = []

    def recommend(self, *, shopper, limit, exclude=()):
        FakePersonalizer.calls.append(("recommend", shopper, limit))
        return [
            ScoredItem(product_id=pid, score=1.0 / (n + 1), reason=f"because {n}")
            for n, pid in enumerate(FakePersonalizer.answer)
        ][:limit]

    def similar(self, *, product_id, shopper, limit):
        FakePersonalizer.calls.append(("similar", shopper, limit))
        return [
            ScoredItem(product_id=pid, score=float("nan") if n == 0 else 0.5, reason="alike")
            for n, pid in enumerate([product_id, *FakePersonalizer.answer])
        ][:limit]


@pytest.fixture
def fake_personalizer(settings):
    FakePersonalizer.calls = []
    FakePersonalizer.answer = []
    settings.SHOP_PERSONALIZER = "tests.shop.test_api.FakePersonalizer"
    return FakePersonalizer


# --------------------------------------------------------------------------- products


def test_product_list_shows_active_products_with_their_fields(client, catalogue):
    response = client.get(PRODUCTS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    by_sku = {p["sku"]: p for p in body["results"]}
    assert set(by_sku) == {"RED-1", "MATTE-1", "SHAMPOO-1"}
    red = by_sku["RED-1"]
    assert set(red) == {
        "id",
        "sku",
        "title",
        "description",
        "category",
        "brand",
        "price",
        "currency",
        "in_stock",
        "image_url",
        "url",
    }
    assert red["category"] == {
        "id": catalogue["lipstick"].pk,
        "name": "Lipstick",
        "path": "Beauty > Lipstick",
    }
    assert red["brand"] == {"id": catalogue["glow"].pk, "name": "Glowco"}
    assert red["price"] == "10.00"
    assert red["currency"] == "EUR"
    assert red["in_stock"] is True
    assert red["url"] == f"http://testserver{detail_url(catalogue['red'].pk)}"
    shampoo = by_sku["SHAMPOO-1"]
    assert shampoo["price"] is None and shampoo["brand"] is None
    assert by_sku["MATTE-1"]["in_stock"] is False


def test_product_list_runs_two_queries_whatever_the_page_size(
    client, catalogue, django_assert_num_queries
):
    with django_assert_num_queries(2):  # count + one page with category and brand joined
        assert client.get(PRODUCTS_URL).status_code == 200
    ProductFactory.create_batch(15)
    with django_assert_num_queries(2):
        response = client.get(PRODUCTS_URL, {"page_size": 50})
    assert len(response.json()["results"]) == 18


def test_product_list_filters_by_category_with_subcategories_and_brand(client, catalogue):
    def skus(params):
        response = client.get(PRODUCTS_URL, params)
        assert response.status_code == 200, response.content
        return {p["sku"] for p in response.json()["results"]}

    assert skus({"category": catalogue["beauty"].pk}) == {"RED-1", "MATTE-1"}
    assert skus({"category": f"{catalogue['lipstick'].pk},{catalogue['hair'].pk}"}) == {
        "RED-1",
        "MATTE-1",
        "SHAMPOO-1",
    }
    assert skus({"brand": catalogue["acme"].pk}) == {"MATTE-1"}
    assert skus({"brand": [catalogue["acme"].pk, catalogue["glow"].pk]}) == {"RED-1", "MATTE-1"}
    assert skus({"category": catalogue["hair"].pk, "brand": catalogue["acme"].pk}) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "abc"}, "category"),
        ({"category": "-1"}, "category"),
        ({"category": "999999"}, "category"),
        ({"brand": "1.5"}, "brand"),
        ({"brand": "999999"}, "brand"),
        ({"brand": "99999999999999999999"}, "brand"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1000"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
)
def test_product_list_rejects_bad_parameters(client, catalogue, params, field):
    response = client.get(PRODUCTS_URL, params)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}


def test_product_list_page_past_the_end_is_404(client, catalogue):
    assert client.get(PRODUCTS_URL, {"page": 99}).status_code == 404
    assert client.get(PRODUCTS_URL, {"page": "last"}).status_code == 200


def test_product_detail_and_404_for_inactive_or_unknown(client, catalogue):
    response = client.get(detail_url(catalogue["red"].pk))
    assert response.status_code == 200
    assert response.json()["sku"] == "RED-1"

    assert client.get(detail_url(catalogue["gone"].pk)).status_code == 404
    assert client.get(detail_url(999999)).status_code == 404


# ----------------------------------------------------------------------------- search


def test_search_returns_scored_results_facets_and_records_the_search(client, catalogue):
    response = client.get(SEARCH_URL, {"q": "lipstick"})

    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "lipstick"
    assert body["total"] == 2
    assert body["page"] == 1 and body["num_pages"] == 1
    assert isinstance(body["personalized"], bool)
    assert {r["sku"] for r in body["results"]} == {"RED-1", "MATTE-1"}
    for result in body["results"]:
        assert isinstance(result["score"], float)
        assert "reason" in result and "category" in result and "url" in result
    assert body["facets"]["category"] == [
        {"id": catalogue["lipstick"].pk, "name": "Lipstick", "count": 2}
    ]
    assert {f["name"] for f in body["facets"]["brand"]} == {"Glowco", "Acme"}

    event = Event.objects.get(event_type=EventType.SEARCH)
    assert event.query == "lipstick"
    assert event.source == "app"
    assert event.user_id is None
    assert event.session_id == client.session.session_key
    assert event.context["results"] == 2


def test_search_event_only_on_page_one_of_a_query(client, catalogue):
    ProductFactory.create_batch(5, title="Lipstick extra")
    client.get(SEARCH_URL, {"q": "lipstick", "page_size": 2, "page": 2})
    client.get(SEARCH_URL, {"q": ""})
    client.get(SEARCH_URL, {"category": catalogue["hair"].pk})
    assert not Event.objects.filter(event_type=EventType.SEARCH).exists()


def test_search_attributes_the_event_to_the_logged_in_shopper(client, catalogue):
    user = UserFactory()
    client.force_login(user)

    assert client.get(SEARCH_URL, {"q": "shampoo"}).status_code == 200
    assert Event.objects.get(event_type=EventType.SEARCH).user_id == user.pk


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "cheapest"}, "sort"),
        ({"price_min": "abc"}, "price_min"),
        ({"price_min": "5", "price_max": "1"}, "price_max"),
        ({"page": "abc"}, "page"),
        ({"page_size": "-3"}, "page_size"),
        ({"category": "999999"}, "category"),
        ({"brand": "x"}, "brand"),
        ({"q": "x" * 10_000}, "q"),
        ({"q": "bad\x00query"}, "q"),
    ],
)
def test_search_bad_input_is_400_with_the_field(client, catalogue, params, field):
    response = client.get(SEARCH_URL, params)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "query", ["💄💋", "口红 红色", "ÀÉÎõü", "' OR 1=1 --", "%_%", "lip" * 150, "\u202e\ufeff"]
)
def test_search_odd_queries_never_fail(client, catalogue, query):
    response = client.get(SEARCH_URL, {"q": query})

    assert response.status_code in (200, 400)


# -------------------------------------------------------------------- recommendations


def test_recommendations_for_the_logged_in_shopper(client, catalogue, fake_personalizer):
    user = UserFactory()
    client.force_login(user)
    fake_personalizer.answer = [catalogue["matte"].pk, catalogue["gone"].pk, catalogue["red"].pk]

    response = client.get(RECOMMENDATIONS_URL, {"limit": 5})

    assert response.status_code == 200
    body = response.json()
    # The inactive product the personalizer named is dropped; the order is kept.
    assert [p["sku"] for p in body] == ["MATTE-1", "RED-1"]
    assert body[0]["score"] == 1.0 and body[0]["reason"] == "because 0"
    assert body[0]["category"]["name"] == "Lipstick"
    (call,) = fake_personalizer.calls
    assert call[0] == "recommend" and call[1].user_id == user.pk and call[2] == 5


def test_recommendations_for_an_anonymous_session(client, catalogue, fake_personalizer):
    client.get(SEARCH_URL, {"q": "lipstick"})  # starts a session
    session_key = client.session.session_key
    fake_personalizer.answer = [catalogue["red"].pk]

    response = client.get(RECOMMENDATIONS_URL)

    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["RED-1"]
    shopper = fake_personalizer.calls[-1][1]
    assert shopper.user_id is None and shopper.session_id == session_key


def test_recommendations_with_the_configured_personalizer(client, catalogue):
    EventFactory(product=catalogue["red"], event_type=EventType.PURCHASE)

    response = client.get(RECOMMENDATIONS_URL, {"limit": 3})

    assert response.status_code == 200
    assert len(response.json()) <= 3


@pytest.mark.parametrize("limit", ["0", "51", "1000", "abc", "-1", "2.5", "١"])
def test_recommendations_limit_out_of_range_is_400(client, catalogue, limit):
    response = client.get(RECOMMENDATIONS_URL, {"limit": limit})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"limit"}


def test_similar_products(client, catalogue, fake_personalizer):
    fake_personalizer.answer = [catalogue["gone"].pk, catalogue["matte"].pk]

    response = client.get(similar_url(catalogue["red"].pk), {"limit": 10})

    assert response.status_code == 200
    # Neither the product itself (with a NaN score) nor the inactive one is shown.
    assert [(p["sku"], p["score"], p["reason"]) for p in response.json()] == [
        ("MATTE-1", 0.5, "alike")
    ]


def test_similar_products_errors(client, catalogue):
    assert client.get(similar_url(catalogue["gone"].pk)).status_code == 404
    assert client.get(similar_url(999999)).status_code == 404
    assert client.get(similar_url(catalogue["red"].pk), {"limit": 0}).status_code == 400
    assert client.get(similar_url(catalogue["red"].pk), {"limit": 51}).status_code == 400
    response = client.get(similar_url(catalogue["red"].pk), {"limit": 3})
    assert response.status_code == 200
    assert all(p["sku"] != "RED-1" for p in response.json())


# ----------------------------------------------------------------------------- events


def valid_rows(now=None):
    now = now or timezone.now()
    return [
        {"event_id": "e1", "type": "view", "sku": "RED-1", "occurred_at": iso(now)},
        {
            "event_id": "e2",
            "type": "purchase",
            "sku": "RED-1",
            "value": 2,
            "occurred_at": int(now.timestamp()),
        },
        {
            "event_id": "e3",
            "type": "search",
            "query": "口红 💄",
            "occurred_at": iso(now - timedelta(minutes=1)),
            "context": {"results": 2},
        },
        {
            "event_id": "e4",
            "type": "rating",
            "sku": "MATTE-1",
            "value": 4,
            "position": 3,
            "occurred_at": iso(now),
        },
    ]


def test_anonymous_batch_is_attributed_to_a_new_session(client, catalogue):
    response = post_events(client, valid_rows())

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 4, "duplicates": 0, "errors": []}
    session_key = client.session.session_key
    assert session_key
    events = Event.objects.order_by("client_event_id")
    # A shopper's ids are stored scoped by the actor (here the anonymous session).
    assert [e.client_event_id for e in events] == [f"s{session_key}:e{n}" for n in range(1, 5)]
    assert {(e.user_id, e.session_id, e.source) for e in events} == {(None, session_key, "app")}
    e3 = events.get(client_event_id=f"s{session_key}:e3")
    assert e3.query == "口红 💄" and e3.product_id is None and e3.context == {"results": 2}
    assert events.get(client_event_id=f"s{session_key}:e4").value == 4.0


def test_anonymous_may_name_its_own_session_id_but_never_a_user(client, catalogue):
    user = UserFactory()
    rows = [
        {
            "event_id": "a1",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(timezone.now()),
            "session_id": "app-anon-42",
            "user": user.username,
            "source": "pos",
        }
    ]

    response = post_events(client, rows)

    assert response.status_code == 200
    event = Event.objects.get()
    assert event.session_id == "app-anon-42"
    assert event.user_id is None
    assert event.source == "app"


def test_logged_in_shopper_events_are_always_their_own(client, catalogue):
    me, other = UserFactory(), UserFactory()
    client.force_login(me)
    rows = valid_rows()
    for row in rows:
        row["user"] = other.username
        row["source"] = "backoffice"

    response = post_events(client, rows)

    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert set(Event.objects.values_list("user_id", "source")) == {(me.pk, "app")}
    assert set(Event.objects.values_list("session_id", flat=True)) == {client.session.session_key}


@pytest.mark.parametrize("how", ["staff", "permission"])
def test_privileged_callers_may_name_any_user_and_source(client, catalogue, how):
    caller = UserFactory(is_staff=how == "staff")
    if how == "permission":
        caller.user_permissions.add(Permission.objects.get(codename="add_event"))
    existing = UserFactory(username="ext-7")
    client.force_login(caller)
    now = iso(timezone.now())
    rows = [
        {"event_id": "s1", "type": "view", "sku": "RED-1", "occurred_at": now, "user": "ext-7"},
        {"event_id": "s2", "type": "view", "sku": "RED-1", "occurred_at": now, "user": "new-9"},
        {"event_id": "s3", "type": "view", "sku": "RED-1", "occurred_at": now, "session_id": "x"},
        {"event_id": "s4", "type": "view", "sku": "RED-1", "occurred_at": now},
        {"event_id": "s5", "type": "view", "sku": "RED-1", "occurred_at": now, "source": "pos"},
    ]

    response = post_events(client, rows)

    assert response.status_code == 200, response.content
    events = {e.client_event_id: e for e in Event.objects.select_related("user")}
    assert events["s1"].user_id == existing.pk
    assert events["s2"].user.username == "new-9"
    assert not events["s2"].user.has_usable_password()
    assert events["s3"].user_id is None and events["s3"].session_id == "x"
    assert events["s4"].user_id == caller.pk
    assert events["s5"].source == "pos" and events["s1"].source == "app"


def test_a_batch_with_bad_rows_stores_the_good_ones_and_names_the_bad(client, catalogue):
    now = timezone.now()
    rows = valid_rows(now)
    rows[1:1] = [
        {"event_id": "b1", "type": "teleport", "sku": "RED-1", "occurred_at": iso(now)},
        {"event_id": "b2", "type": "view", "sku": "NOPE-404", "occurred_at": iso(now)},
        {
            "event_id": "b3",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(now + timedelta(days=30)),
        },
        {"event_id": "b4", "type": "rating", "sku": "RED-1", "value": 9, "occurred_at": iso(now)},
        "not an object",
        {"event_id": "b6", "type": "view", "sku": "RED-1"},
        {"event_id": "b7", "type": "search", "occurred_at": iso(now)},
        {"event_id": "b8", "type": "view", "sku": "RED-1", "occurred_at": "yesterday"},
        {"event_id": "x" * 101, "type": "view", "sku": "RED-1", "occurred_at": iso(now)},
        {
            "event_id": "b10",
            "type": "view",
            "sku": "RED-1",
            "occurred_at": iso(now),
            "value": "NaN",
        },
    ]

    response = post_events(client, rows)

    assert response.status_code == 207
    body = response.json()
    assert body["created"] == 4 and body["duplicates"] == 0
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "type"),
        (2, "sku"),
        (3, "occurred_at"),
        (4, "value"),
        (5, "(row)"),
        (6, "occurred_at"),
        (7, "query"),
        (8, "occurred_at"),
        (9, "event_id"),
        (10, "value"),
    ]
    assert "NOPE-404" in body["errors"][1]["reason"]
    assert "future" in body["errors"][2]["reason"]
    assert {
        i.split(":", 1)[1] for i in Event.objects.values_list("client_event_id", flat=True)
    } == {"e1", "e2", "e3", "e4"}


def test_reposting_a_batch_creates_nothing(client, catalogue):
    rows = valid_rows()
    assert post_events(client, rows).json()["created"] == 4

    response = post_events(client, rows)

    assert response.status_code == 200
    assert response.json() == {"created": 0, "duplicates": 4, "errors": []}
    assert Event.objects.count() == 4


def test_rows_without_event_id_are_identified_by_content(client, catalogue):
    now = iso(timezone.now())
    row = {"type": "view", "sku": "RED-1", "occurred_at": now, "session_id": "s-1"}

    first = post_events(client, [row, dict(row), {**row, "session_id": "s-2"}])
    again = post_events(client, [row])

    assert first.json() == {"created": 2, "duplicates": 1, "errors": []}
    assert again.json() == {"created": 0, "duplicates": 1, "errors": []}


def test_events_bump_popularity_once(client, catalogue):
    red = catalogue["red"]
    before = Product.objects.get(pk=red.pk).popularity

    post_events(client, valid_rows())
    after = Product.objects.get(pk=red.pk).popularity
    post_events(client, valid_rows())  # duplicates: no second bump

    assert after == before + 1 + 5  # a view and a purchase
    assert Product.objects.get(pk=red.pk).popularity == after
    assert Product.objects.get(pk=catalogue["matte"].pk).popularity == 2  # a rating


def test_new_events_are_announced_to_listeners(client, catalogue, monkeypatch):
    announced = []
    monkeypatch.setattr(
        api_events, "events_recorded_notify", lambda *, events: announced.append(list(events))
    )
    user = UserFactory()
    client.force_login(user)

    post_events(client, valid_rows())
    post_events(client, valid_rows())  # duplicates: nothing new to announce

    (events,) = announced
    assert sorted(e.event_type for e in events) == ["purchase", "rating", "search", "view"]
    assert {e.user_id for e in events} == {user.pk}
    assert {e.session_id for e in events} == {client.session.session_key}


def test_events_recorded_signal_fires_after_commit(
    client, catalogue, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    events_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_events(
                client,
                [
                    {
                        "event_id": "q1",
                        "type": "search",
                        "query": "red",
                        "occurred_at": iso(timezone.now()),
                        "session_id": "app-1",
                    }
                ],
            )
    finally:
        events_recorded.disconnect(listener)

    (kwargs,) = heard
    assert kwargs["session_ids"] == {"app-1"}
    assert kwargs["user_ids"] == set()
    assert kwargs["event_types"] == {"search"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "(body)"),
        ('{"events": [NaN]}', "(body)"),
        ("[]", "(body)"),
        ('"events"', "(body)"),
        ("{}", "events"),
        ('{"events": {"type": "view"}}', "events"),
        ('{"events": "view"}', "events"),
        ('{"events": null}', "events"),
    ],
)
def test_malformed_bodies_are_400(client, catalogue, body, field):
    response = client.post(EVENTS_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["index"] is None
    assert not Event.objects.exists()


def test_batch_size_limit(client, catalogue):
    now = iso(timezone.now())
    rows = [
        {"event_id": f"n{i}", "type": "view", "sku": "RED-1", "occurred_at": now}
        for i in range(501)
    ]

    too_many = post_events(client, rows)
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "events"
    assert not Event.objects.exists()

    just_right = post_events(client, rows[:500])
    assert just_right.status_code == 200
    assert just_right.json()["created"] == 500


def test_empty_batch_is_fine(client, catalogue):
    response = post_events(client, [])
    assert response.status_code == 200
    assert response.json() == {"created": 0, "duplicates": 0, "errors": []}


def test_oversized_or_non_json_bodies(client, catalogue, monkeypatch):
    monkeypatch.setattr(api_events, "MAX_BODY_BYTES", 1000)
    big = post_events(
        client,
        [
            {
                "type": "view",
                "sku": "RED-1",
                "occurred_at": "2024-01-01",
                "context": {"x": "y" * 2000},
            }
        ],
    )
    assert big.status_code == 413

    form = client.post(EVENTS_URL, {"events": "x"})
    assert form.status_code == 415


def test_csrf_is_needed_for_logged_in_sessions_only(catalogue):
    rows = valid_rows()
    anonymous = Client(enforce_csrf_checks=True)
    assert post_events(anonymous, rows[:1]).status_code == 200

    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(UserFactory())
    assert post_events(logged_in, rows[1:2]).status_code == 403

    token = "a" * 32
    logged_in.cookies["csrftoken"] = token
    assert post_events(logged_in, rows[1:2], HTTP_X_CSRFTOKEN=token).status_code == 200


def test_event_ingestion_is_throttled(client, catalogue, monkeypatch):
    monkeypatch.setattr(api_views.EventIngestThrottle, "rate", "2/min")

    assert post_events(client, []).status_code == 200
    assert post_events(client, []).status_code == 200
    assert post_events(client, []).status_code == 429


def test_read_throttle_counts_each_caller_in_fixed_windows(client, catalogue, monkeypatch):
    monkeypatch.setattr(api_views.ReadThrottle, "rate", "2/min")
    now = [6000.0]
    monkeypatch.setattr(api_views.ReadThrottle, "timer", lambda self: now[0])
    other = Client()
    other.force_login(UserFactory())

    assert [client.get(PRODUCTS_URL).status_code for _ in range(2)] == [200, 200]
    now[0] += 15
    refused = client.get(PRODUCTS_URL)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"  # until the window ends
    assert other.get(PRODUCTS_URL).status_code == 200  # counted per caller

    now[0] += 45  # the next window
    assert client.get(PRODUCTS_URL).status_code == 200


UNREACHABLE_REDIS = {
    "BACKEND": "django_redis.cache.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
}


@pytest.mark.parametrize("ignore_exceptions", [True, False])
def test_throttling_survives_redis_being_down(client, catalogue, ignore_exceptions):
    cache = {
        **UNREACHABLE_REDIS,
        "OPTIONS": {**UNREACHABLE_REDIS["OPTIONS"], "IGNORE_EXCEPTIONS": ignore_exceptions},
    }
    with override_settings(CACHES={"default": cache}):
        response = post_events(client, valid_rows())
        products = client.get(PRODUCTS_URL)

    assert response.status_code == 200
    assert response.json()["created"] == 4
    assert products.status_code == 200


# -------------------------------------------------------------------------- my events


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
    assert set(body[0]) == {
        "id",
        "event_id",
        "type",
        "product_id",
        "sku",
        "value",
        "query",
        "position",
        "context",
        "source",
        "occurred_at",
    }

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


# ----------------------------------------------------------------------------- schema


def test_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert set(schema["paths"]) >= {
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/products/{id}/similar/",
        "/api/v1/search/",
        "/api/v1/recommendations/",
        "/api/v1/events/",
        "/api/v1/me/events/",
    }
    events = schema["paths"]["/api/v1/events/"]["post"]
    assert {"200", "207", "400"} <= set(events["responses"])
    assert "requestBody" in events


def test_schema_endpoint_serves_the_v1_paths(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert "/api/v1/search/" in json.loads(response.content)["paths"]


def test_the_api_never_imports_the_recommender():
    api_dir = Path(api_views.__file__).parent
    for source in api_dir.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "recommender" for n in names), source


@pytest.mark.django_db
def test_a_shoppers_event_ids_cannot_be_taken_by_another_caller(client):
    """Ids are scoped by the actor: another caller's identical ids are separate events."""
    from tests.factories import ProductFactory, UserFactory

    ProductFactory(sku="SCOPE-1")
    alice, mallory = UserFactory(), UserFactory()
    body = {
        "events": [
            {
                "event_id": "e1",
                "type": "view",
                "sku": "SCOPE-1",
                "occurred_at": "2024-01-01T00:00:00Z",
            }
        ]
    }
    client.force_login(mallory)
    first = client.post("/api/v1/events/", data=body, content_type="application/json")
    client.force_login(alice)
    second = client.post("/api/v1/events/", data=body, content_type="application/json")
    assert first.json()["created"] == 1 and second.json()["created"] == 1
    assert Event.objects.filter(user=alice).count() == 1


# ----------------------------------------------------------------- product serializer


@pytest.mark.parametrize("scored", [False, True])
def test_the_hand_built_product_json_equals_the_generic_serializer(client, scored):
    from rest_framework import serializers as drf
    from rest_framework.reverse import reverse as drf_reverse

    from shop.api.serializers import ProductSerializer, ScoredProductSerializer

    with_everything = ProductFactory(price=Decimal("1234.5"), currency="EUR", stock=0)
    bare = ProductFactory(category=None, brand=None, price=None, currency="", image_url="")
    # A real versioned API request, for the product URLs.
    request = client.get(PRODUCTS_URL).renderer_context["request"]
    cls = ScoredProductSerializer if scored else ProductSerializer
    for product in (with_everything, bare):
        product.score, product.reason = 0.25, "Because"
        fast = cls(product, context={"request": request}).data
        generic = drf.ModelSerializer.to_representation(cls(context={"request": request}), product)
        assert fast == generic
        assert fast["url"].endswith(f"/api/v1/products/{product.pk}/")
        # The URL DRF's versioned reverse gives (scheme, host and version included).
        assert fast["url"] == drf_reverse(
            "product-detail", kwargs={"pk": product.pk}, request=request
        )


@pytest.mark.parametrize("event_id", [None, 42])
def test_the_hand_built_search_json_equals_the_generic_serializer(client, event_id):
    from rest_framework import serializers as drf

    from shop.api.serializers import SearchResponseSerializer
    from shop.search import FacetValue

    products = [
        ProductFactory(price=Decimal("9.99")),
        ProductFactory(brand=None, price=None, currency=""),
    ]
    for n, product in enumerate(products):
        product.score, product.reason = 1.5 - n, "Matches your search"
    payload = {
        "query": "sanding roll",
        "total": 2,
        "page": 1,
        "num_pages": 1,
        "personalized": True,
        "did_you_mean": "",
        "corrected_query": "sanding roll",
        "search_event_id": event_id,
        "results": products,
        "facets": {
            "category": [FacetValue(3, "Sanding Rolls", 2)],
            "brand": [FacetValue(1, "Porter-Cable", 1), FacetValue(2, "Scotch", 1)],
        },
    }
    request = client.get(PRODUCTS_URL).renderer_context["request"]
    fast = SearchResponseSerializer(payload, context={"request": request}).data
    generic = drf.Serializer.to_representation(
        SearchResponseSerializer(context={"request": request}), payload
    )
    assert fast == generic
    assert list(fast) == list(generic)  # the same key order
    assert fast["results"][0]["url"].endswith(f"/api/v1/products/{products[0].pk}/")
    # Null text stays null, as in DRF's CharField.
    payload.update(query=None, did_you_mean=None)
    fast = SearchResponseSerializer(payload, context={"request": request}).data
    generic = drf.Serializer.to_representation(
        SearchResponseSerializer(context={"request": request}), payload
    )
    assert fast == generic and fast["query"] is None


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (a real Redis)")
def test_a_redis_window_counter_counts_and_expires_with_its_window():
    from django.core.cache import cache

    from shop.caching import cache_count

    key = f"throttle-test:{os.getpid()}"
    assert [cache_count(key, timeout=61) for _ in range(3)] == [1, 2, 3]
    redis = cache.client.get_client(write=True)
    assert 0 < redis.ttl(cache.client.make_key(key)) <= 61


def test_a_counter_in_any_other_cache_counts_too():
    from django.core.cache.backends.locmem import LocMemCache

    from shop.caching import cache_count

    cache = LocMemCache("throttle-test", {})
    assert [cache_count("k", timeout=61, backend=cache) for _ in range(3)] == [1, 2, 3]
