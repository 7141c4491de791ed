"""API v1 search: results, facets, the logged search event, bad input, caching, and
autocomplete."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from shop.models import Event, EventType
from tests.factories import ProductFactory, UserFactory
from tests.shop.api.helpers import AUTOCOMPLETE_URL, SEARCH_URL

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


def test_search_takes_every_storefront_parameter(client, catalogue):
    params = {
        "q": "lipstick",
        "category": catalogue["beauty"].pk,
        "brand": catalogue["glow"].pk,
        "price_min": "5",
        "price_max": "15",
        "in_stock": "true",
        "sort": "price_asc",
        "page": 1,
        "page_size": 10,
    }

    response = client.get(SEARCH_URL, params)

    assert response.status_code == 200
    body = response.json()
    assert [r["sku"] for r in body["results"]] == ["RED-1"]
    assert body["facets"]["brand"] == [{"id": catalogue["glow"].pk, "name": "Glowco", "count": 1}]


def test_search_offers_did_you_mean_and_corrects_typos(client, catalogue):
    body = client.get(SEARCH_URL, {"q": "lipstik"}).json()

    assert body["did_you_mean"] == "lipstick"
    assert body["corrected_query"] == "lipstick"
    assert {r["sku"] for r in body["results"]} == {"RED-1", "MATTE-1"}


def test_search_answers_are_private(client, catalogue):
    response = client.get(SEARCH_URL, {"q": "lipstick"})

    assert response["Cache-Control"] == "private, no-store"
    assert "ETag" not in response


def test_autocomplete_is_cacheable_with_an_etag(client, catalogue):
    first = client.get(AUTOCOMPLETE_URL, {"q": "lip"})

    assert first.status_code == 200
    assert {s["label"] for s in first.json()["suggestions"]} >= {"Red velvet lipstick"}
    assert first["Cache-Control"] == "public, max-age=60"
    assert (
        client.get(AUTOCOMPLETE_URL, {"q": "lip"}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code
        == 304
    )
    other = client.get(AUTOCOMPLETE_URL, {"q": "sham"}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert other.status_code == 200
    assert client.get(AUTOCOMPLETE_URL, {"limit": "21"}).status_code == 400


def _parameters(schema, path):
    return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}


def test_the_schema_declares_the_bounds_the_views_enforce():
    """Schemathesis found 400s for values the schema allowed (page=0): every bounded
    numeric parameter declares its bounds."""
    schema = SchemaGenerator(api_version="v1").get_schema(request=None, public=True)

    search = _parameters(schema, "/api/v1/search/")
    assert (search["page"]["minimum"], search["page_size"]["maximum"]) == (1, 100)
    assert search["category"]["minimum"] == 1 and search["q"]["maxLength"] == 500
    assert search["price_min"] == {"type": "number", "minimum": 0, "maximum": 10_000_000_000}
    products = _parameters(schema, "/api/v1/products/")
    assert products["page"]["minimum"] == 1 and products["page_size"]["maximum"] == 100
    assert _parameters(schema, "/api/v1/recommendations/")["limit"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 50,
    }
    assert _parameters(schema, "/api/v1/me/events/")["page_size"]["maximum"] == 200
    detail = schema["paths"]["/api/v1/products/{id}/"]["get"]["responses"]
    error = detail["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/Error")
    product = schema["components"]["schemas"]["Product"]["properties"]
    assert product["image_url"]["nullable"] is True
