"""API v1 search: results, facets, the logged search event and bad input."""

import pytest

from shop.models import Event, EventType
from tests.factories import ProductFactory, UserFactory
from tests.shop.api.helpers import SEARCH_URL

pytestmark = pytest.mark.django_db


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
    assert set(response.json()["details"]) == {field}
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "query", ["💄💋", "口红 红色", "ÀÉÎõü", "' OR 1=1 --", "%_%", "lip" * 150, "\u202e\ufeff"]
)
def test_search_odd_queries_never_fail(client, catalogue, query):
    response = client.get(SEARCH_URL, {"q": query})

    assert response.status_code in (200, 400)
