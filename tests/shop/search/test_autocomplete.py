"""Search-box completions, on the storefront and in the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.models import Event, EventType, SearchQueryDay
from tests.factories import BrandFactory, ProductFactory, category_tree

pytestmark = pytest.mark.django_db

BOX = reverse("shop:search-autocomplete")
API = reverse("v1:search-autocomplete")


def box(client, q: str) -> list[dict]:
    response = client.get(BOX, {"q": q})
    assert response.status_code == 200
    return response.json()["suggestions"]


def labels(suggestions: list[dict], kind: str) -> list[str]:
    return [s["label"] for s in suggestions if s["kind"] == kind]


@pytest.fixture
def hair():
    """250 shampoos nobody looks at and 10 popular shakers: the most popular matches
    of "sha" are all shakers."""
    categories = category_tree("Beauty > Hair Care > Shampoos", "Sports > Bottles")
    brand = BrandFactory(name="Sudsy", slug="sudsy")
    for n in range(250):
        ProductFactory(title=f"Herbal shampoo {n}", category=categories["shampoos"], brand=brand)
    for n in range(10):
        ProductFactory(
            title=f"Protein shaker bottle {n}",
            category=categories["bottles"],
            brand=brand,
            popularity=100,
        )
    return categories


def test_sha_suggests_shampoo_when_hundreds_of_products_match(client, hair):
    suggestions = box(client, "sha")
    assert labels(suggestions, "query")[:2] == ["shampoo", "shaker"]
    assert labels(suggestions, "category") == ["Beauty > Hair Care > Shampoos"]
    # The products follow: the popular shakers.
    assert labels(suggestions, "product")[0].startswith("Protein shaker bottle")


def test_a_completion_keeps_the_words_typed_before(client, hair):
    assert labels(box(client, "herbal sha"), "query") == ["herbal shampoo"]
    assert labels(box(client, "hair sha"), "category") == ["Beauty > Hair Care > Shampoos"]


def test_frequent_searches_rank_catalogue_words_and_never_add_others(client):
    for title in ("Herbal shampoo", "Mild shampoo", "Dry shampoo", "Protein shaker"):
        ProductFactory(title=title)
    assert labels(box(client, "sha"), "query") == ["shampoo", "shaker"]
    today = timezone.localdate()
    SearchQueryDay.objects.create(day=today, query="protein shaker", searches=3)
    # Searched often but found nothing, or not a catalogue word: no weight, never shown.
    SearchQueryDay.objects.create(day=today, query="shazam", searches=500)
    SearchQueryDay.objects.create(
        day=today, query="shampoo", searches=900, zero_result_searches=900
    )
    # Too long ago to count.
    SearchQueryDay.objects.create(day=today - timedelta(days=90), query="shampoo", searches=900)
    assert labels(box(client, "shak"), "query") == ["shaker"]
    assert labels(box(client, "sh"), "query") == ["shaker", "shampoo"]
    assert labels(box(client, "shaz"), "query") == []


def test_each_suggestion_says_where_choosing_it_goes(client, hair):
    suggestions = box(client, "sha")
    by_kind = {}
    for suggestion in suggestions:
        by_kind.setdefault(suggestion["kind"], suggestion)
    assert by_kind["query"]["url"] == "/search/?q=shampoo"
    assert by_kind["category"]["url"] == f"/search/?category={hair['shampoos'].pk}"
    product = by_kind["product"]
    assert product["url"] == reverse("shop:product", args=[product["id"]])


def test_a_shopper_sees_their_own_recent_searches_and_nobody_elses(client, hair, django_user_model):
    client.get(reverse("shop:search"), {"q": "herbal shampoo"})
    client.get(reverse("shop:search"), {"q": "shaker"})
    client.get(reverse("shop:search"), {"q": "Herbal  Shampoo"})  # the same query again
    assert labels(box(client, ""), "recent") == ["Herbal  Shampoo", "shaker"]
    assert labels(box(client, "herb"), "recent") == ["Herbal  Shampoo"]
    # The recent search comes first; its completion is not repeated.
    assert labels(box(client, "herbal sha"), "query") == []

    other = client.__class__()
    assert labels(box(other, ""), "recent") == []
    assert labels(box(other, "sha"), "recent") == []
    user = django_user_model.objects.create_user("ann", password="pw")
    other.force_login(user)
    other.get(reverse("shop:search"), {"q": "protein"})
    assert labels(box(other, ""), "recent") == ["protein"]
    assert Event.objects.filter(event_type=EventType.SEARCH, user=user).count() == 1


def test_no_recent_searches_after_an_opt_out(client, hair):
    client.get(reverse("shop:search"), {"q": "shaker"})
    assert labels(box(client, ""), "recent") == ["shaker"]
    client.post(reverse("shop:personalization"), {"opt_out": "1"})
    assert box(client, "") == []
    assert labels(box(client, "sha"), "recent") == []


def test_the_api_stays_the_same_for_everybody(client, hair):
    client.get(reverse("shop:search"), {"q": "shaker"})
    response = client.get(API, {"q": "sha"})
    assert {s["kind"] for s in response.json()["suggestions"]} <= {"brand", "category", "product"}


def test_autocomplete_suggests_brands_and_popular_products(client, tools):
    suggestions = client.get(API, {"q": "scot"}).json()["suggestions"]
    assert suggestions[0] == {"kind": "brand", "id": tools["tape"].brand_id, "label": "Scotch"}
    assert {s["label"] for s in suggestions if s["kind"] == "product"} == {
        "Masking tape",
        "Nitrile gloves",
    }
    assert labels(box(client, "scot"), "brand") == ["Scotch"]


def test_api_autocomplete_completes_a_partly_typed_word(client, tools):
    response = client.get(API, {"q": "grit sand", "limit": 5})
    assert response.status_code == 200
    assert {s["label"] for s in response.json()["suggestions"]} == {
        "80 grit sanding roll",
        "120 grit sanding roll",
    }
    assert labels(box(client, "grit sand"), "query") == ["grit sanding"]


@pytest.mark.parametrize("query", ["", "🙂", "'; DROP TABLE shop_product; --", "口红", "a" * 199])
def test_autocomplete_answers_odd_input(client, tools, query):
    assert client.get(BOX, {"q": query}).status_code == 200
    assert client.get(API, {"q": query}).status_code == 200


def test_autocomplete_rejects_a_long_prefix_and_a_bad_limit(client):
    assert client.get(BOX, {"q": "a" * 201}).status_code == 400
    assert client.get(API, {"q": "a" * 201}).status_code == 400
    assert client.get(API, {"limit": "-3"}).status_code == 400


def test_the_box_answer_is_not_kept_by_shared_caches(client, tools):
    assert client.get(BOX, {"q": "tape"})["Cache-Control"] == "private, max-age=0"
