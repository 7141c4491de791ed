"""Search-box completions, on the storefront and in the API."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_autocomplete_suggests_brands_and_popular_products(client, tools):
    response = client.get(reverse("shop:search-autocomplete"), {"q": "scot"})
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert suggestions[0] == {"kind": "brand", "id": tools["tape"].brand_id, "label": "Scotch"}
    assert {s["label"] for s in suggestions if s["kind"] == "product"} == {
        "Masking tape",
        "Nitrile gloves",
    }


def test_api_autocomplete_completes_a_partly_typed_word(client, tools):
    response = client.get(reverse("v1:search-autocomplete"), {"q": "grit sand", "limit": 5})
    assert response.status_code == 200
    labels = [s["label"] for s in response.json()["suggestions"]]
    assert set(labels) == {"80 grit sanding roll", "120 grit sanding roll"}


@pytest.mark.parametrize("query", ["", "🙂", "'; DROP TABLE shop_product; --", "口红", "a" * 199])
def test_autocomplete_answers_odd_input(client, tools, query):
    assert client.get(reverse("shop:search-autocomplete"), {"q": query}).status_code == 200
    assert client.get(reverse("v1:search-autocomplete"), {"q": query}).status_code == 200


def test_autocomplete_rejects_a_long_prefix_and_a_bad_limit(client):
    assert client.get(reverse("shop:search-autocomplete"), {"q": "a" * 201}).status_code == 400
    assert client.get(reverse("v1:search-autocomplete"), {"q": "a" * 201}).status_code == 400
    assert client.get(reverse("v1:search-autocomplete"), {"limit": "-3"}).status_code == 400
