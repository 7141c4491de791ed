"""API v1 catalogue: product list and detail, recommendations, similar products."""

import pytest

from shop.models import EventType
from tests.factories import EventFactory, ProductFactory, UserFactory
from tests.shop.api.helpers import (
    PRODUCTS_URL,
    RECOMMENDATIONS_URL,
    SEARCH_URL,
    detail_url,
    similar_url,
)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- products


def test_product_list_shows_active_products_with_their_fields(client, catalogue):
    response = client.get(PRODUCTS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    by_sku = {p["sku"]: p for p in body["results"]}
    assert set(by_sku) == {"RED-1", "MATTE-1", "SHAMPOO-1"}
    red = by_sku["RED-1"]
    fields = "id sku title description category brand price currency in_stock image_url url"
    assert set(red) == set(fields.split())
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
    assert set(response.json()["details"]) == {field}


def test_product_list_page_past_the_end_is_404(client, catalogue):
    assert client.get(PRODUCTS_URL, {"page": 99}).status_code == 404
    assert client.get(PRODUCTS_URL, {"page": "last"}).status_code == 200


def test_product_detail_and_404_for_inactive_or_unknown(client, catalogue):
    response = client.get(detail_url(catalogue["red"].pk))
    assert response.status_code == 200
    assert response.json()["sku"] == "RED-1"

    assert client.get(detail_url(catalogue["gone"].pk)).status_code == 404
    assert client.get(detail_url(999999)).status_code == 404


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
    assert set(response.json()["details"]) == {"limit"}


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
