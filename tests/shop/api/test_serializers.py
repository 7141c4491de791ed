"""The hand-built JSON of the API's serializers equals what DRF's generic
``to_representation`` gives for the same data and request."""

from decimal import Decimal

import pytest
from rest_framework import serializers as drf
from rest_framework.reverse import reverse as drf_reverse

from shop.api.serializers import (
    ProductSerializer,
    ScoredProductSerializer,
    SearchResponseSerializer,
)
from shop.search.facets import FacetValue
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def fast_and_generic(serializer_class, data, request, generic_base):
    """The serializer's own answer and the one of DRF's generic base class."""
    context = {"request": request}
    fast = serializer_class(data, context=context).data
    generic = generic_base.to_representation(serializer_class(context=context), data)
    return fast, generic


@pytest.mark.parametrize("scored", [False, True])
def test_the_hand_built_product_json_equals_the_generic_serializer(api_request, scored):
    with_everything = ProductFactory(price=Decimal("1234.5"), currency="EUR", stock=0)
    with_everything.image_url = "https://img.example.com/1.jpg"
    bare = ProductFactory(category=None, brand=None, price=None, currency="", image_url="")
    cls = ScoredProductSerializer if scored else ProductSerializer
    for product in (with_everything, bare):
        product.score, product.reason = 0.25, "Because"
        fast, generic = fast_and_generic(cls, product, api_request, drf.ModelSerializer)
        assert fast == generic
        # An empty image is null, never "" where the schema promises a URI.
        assert fast["image_url"] is None or fast["image_url"].startswith("http")
        assert fast["url"].endswith(f"/api/v1/products/{product.pk}/")
        # The URL DRF's versioned reverse gives (scheme, host and version included).
        assert fast["url"] == drf_reverse(
            "product-detail", kwargs={"pk": product.pk}, request=api_request
        )


@pytest.mark.parametrize("event_id", [None, 42])
def test_the_hand_built_search_json_equals_the_generic_serializer(api_request, event_id):
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
    fast, generic = fast_and_generic(SearchResponseSerializer, payload, api_request, drf.Serializer)
    assert fast == generic
    assert list(fast) == list(generic)  # the same key order
    assert fast["results"][0]["url"].endswith(f"/api/v1/products/{products[0].pk}/")
    # Null text stays null, as in DRF's CharField.
    payload.update(query=None, did_you_mean=None)
    fast, generic = fast_and_generic(SearchResponseSerializer, payload, api_request, drf.Serializer)
    assert fast == generic and fast["query"] is None
