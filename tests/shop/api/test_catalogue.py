"""API v1 catalogue: product list and detail, categories, recommendations, similar
products, and their HTTP caching."""

import pytest

from shop.models import Category, EventType, Product
from shop.personalization import ScoredItem
from tests.factories import EventFactory, ProductFactory, UserFactory
from tests.shop.api.helpers import (
    PRODUCTS_URL,
    RECOMMENDATIONS_URL,
    SEARCH_URL,
    FakePersonalizer,
    categories_url,
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
    assert response["Cache-Control"] == "private, no-store"
    assert "ETag" not in response


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


def test_product_image_url_is_null_when_empty_else_the_url(client, catalogue):
    catalogue["red"].image_url = "https://img.example.com/red.jpg"
    catalogue["red"].save()

    by_sku = {p["sku"]: p for p in client.get(PRODUCTS_URL).json()["results"]}

    assert by_sku["RED-1"]["image_url"] == "https://img.example.com/red.jpg"
    assert by_sku["MATTE-1"]["image_url"] is None
    assert client.get(detail_url(catalogue["matte"].pk)).json()["image_url"] is None


# ------------------------------------------------------------------------ HTTP caching


@pytest.mark.parametrize("url", ["list", "detail"])
def test_product_reads_carry_an_etag_and_answer_304_when_it_matches(client, catalogue, url):
    target = PRODUCTS_URL if url == "list" else detail_url(catalogue["red"].pk)
    first = client.get(target)
    etag = first["ETag"]
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=60"
    assert etag.startswith('"') and etag.endswith('"')  # strong

    again = client.get(target, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag and again["Cache-Control"] == "public, max-age=60"
    assert client.get(target, HTTP_IF_NONE_MATCH=f'"other", {etag}').status_code == 304
    assert client.get(target, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    catalogue["red"].title = "Red satin lipstick"
    catalogue["red"].save()
    changed = client.get(target, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_errors_are_not_cached(client, catalogue):
    response = client.get(detail_url(999999))

    assert response.status_code == 404
    assert "ETag" not in response
    assert client.get(PRODUCTS_URL, {"page": "0"}).get("ETag") is None


def test_personalized_answers_are_private(client, catalogue, fake_personalizer):
    fake_personalizer.answer = [catalogue["matte"].pk]

    similar = client.get(similar_url(catalogue["red"].pk))

    assert similar.status_code == 200
    assert similar["Cache-Control"] == "private, no-store"
    assert "ETag" not in similar
    assert client.get(SEARCH_URL, {"q": "lipstick"})["Cache-Control"] == "private, no-store"


# ------------------------------------------------------------------------- categories


def test_categories_are_a_tree_with_active_product_counts(client, catalogue):
    Category.objects.create(name="Matte", slug="matte", parent=catalogue["lipstick"])
    Category.objects.create(name="Tools", slug="tools")
    response = client.get(categories_url())

    assert response.status_code == 200
    roots = response.json()
    assert [c["name"] for c in roots] == ["Beauty", "Hair", "Tools"]
    beauty = roots[0]
    assert beauty["path"] == "Beauty" and beauty["slug"] == "beauty"
    # RED-1 and MATTE-1 are in Lipstick; the inactive GONE-1 is not counted.
    assert beauty["product_count"] == 2
    (lipstick,) = beauty["children"]
    assert (lipstick["name"], lipstick["product_count"]) == ("Lipstick", 2)
    assert [(c["name"], c["product_count"], c["children"]) for c in lipstick["children"]] == [
        ("Matte", 0, [])
    ]
    assert (roots[1]["product_count"], roots[2]["product_count"]) == (1, 0)


def test_categories_take_two_queries_and_are_cacheable(
    client, catalogue, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the categories, the counts
        first = client.get(categories_url())

    assert first["Cache-Control"] == "public, max-age=60"
    assert client.get(categories_url(), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    ProductFactory(category=catalogue["hair"])
    assert client.get(categories_url(), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


# ------------------------------------------------- recommendations: category, exclude


class ExcludeRecordingPersonalizer(FakePersonalizer):
    """The fake personalizer, recording the exclude it was given and honouring it."""

    def recommend(self, *, shopper, limit, exclude=()):
        FakePersonalizer.calls.append(("recommend", shopper, limit, tuple(exclude)))
        return [
            ScoredItem(product_id=pid, score=1.0 / (n + 1), reason=f"because {n}")
            for n, pid in enumerate(FakePersonalizer.answer)
            if pid not in exclude
        ][:limit]


@pytest.fixture
def recording_personalizer(settings, fake_personalizer):
    settings.SHOP_PERSONALIZER = f"{__name__}.ExcludeRecordingPersonalizer"
    return fake_personalizer


def test_recommendations_exclude_products(client, catalogue, recording_personalizer):
    red, matte, shampoo = catalogue["red"], catalogue["matte"], catalogue["shampoo"]
    recording_personalizer.answer = [red.pk, matte.pk, shampoo.pk]

    response = client.get(RECOMMENDATIONS_URL, {"exclude": f"{red.pk},{shampoo.pk}"})

    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["MATTE-1"]
    assert set(recording_personalizer.calls[-1][3]) == {red.pk, shampoo.pk}


def test_recommendations_exclude_even_if_the_personalizer_ignores_it(
    client, catalogue, fake_personalizer
):
    fake_personalizer.answer = [catalogue["red"].pk, catalogue["matte"].pk]

    response = client.get(RECOMMENDATIONS_URL, {"exclude": catalogue["red"].pk})

    assert [p["sku"] for p in response.json()] == ["MATTE-1"]


def test_recommendations_in_a_category_overfetch_and_keep_the_personal_order(
    client, catalogue, recording_personalizer
):
    red, matte, shampoo = catalogue["red"], catalogue["matte"], catalogue["shampoo"]
    recording_personalizer.answer = [shampoo.pk, matte.pk, red.pk]

    response = client.get(RECOMMENDATIONS_URL, {"category": catalogue["beauty"].pk, "limit": 2})

    assert response.status_code == 200
    body = response.json()
    # Beauty includes Lipstick; the shampoo (Hair) is left out, the order is kept.
    assert [(p["sku"], p["reason"]) for p in body] == [
        ("MATTE-1", "because 1"),
        ("RED-1", "because 2"),
    ]
    assert recording_personalizer.calls[-1][2] == 10  # five times the limit


def test_recommendations_in_a_category_fill_up_with_its_popular_products(
    client, catalogue, recording_personalizer
):
    catalogue["matte"].popularity = 7
    catalogue["matte"].save()
    recording_personalizer.answer = [catalogue["shampoo"].pk, catalogue["red"].pk]

    body = client.get(RECOMMENDATIONS_URL, {"category": catalogue["lipstick"].pk}).json()

    assert [(p["sku"], p["reason"]) for p in body] == [
        ("RED-1", "because 1"),
        ("MATTE-1", "Popular in Lipstick"),
    ]
    excluded = client.get(
        RECOMMENDATIONS_URL,
        {"category": catalogue["lipstick"].pk, "exclude": catalogue["matte"].pk},
    ).json()
    assert [p["sku"] for p in excluded] == ["RED-1"]


def test_a_category_product_nobody_chose_lately_fills_in_as_more_not_popular(
    client, catalogue, recording_personalizer
):
    Product.objects.filter(pk=catalogue["matte"].pk).update(popularity=0)
    recording_personalizer.answer = [catalogue["red"].pk]

    body = client.get(RECOMMENDATIONS_URL, {"category": catalogue["lipstick"].pk}).json()

    assert ("MATTE-1", "More in Lipstick") in [(p["sku"], p["reason"]) for p in body]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "999999"}, "category"),
        ({"category": "lipstick"}, "category"),
        ({"exclude": "x"}, "exclude"),
        ({"exclude": ",".join(str(n) for n in range(1, 60))}, "exclude"),
    ],
)
def test_recommendations_bad_category_or_exclude_is_400(client, catalogue, params, field):
    response = client.get(RECOMMENDATIONS_URL, params)

    assert response.status_code == 400
    assert set(response.json()["details"]) == {field}
