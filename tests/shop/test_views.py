"""The storefront as a shopper sees it: home, search, product page, log in and out.

Every request goes through the real URLconf, middleware and templates; the test client
re-raises any exception of a view (``raise_request_exception`` is on), so a 500 fails.
"""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from shop.models import DailyRecommendations, Event, EventType, Product
from shop.popularity import popularity_refresh
from shop.rollups import rollups_refresh
from tests.factories import (
    BrandFactory,
    EventFactory,
    ProductFactory,
    UserFactory,
    category_tree,
    products_from_rows,
)

pytestmark = pytest.mark.django_db


# What the project configures (the recommender plugin when it is installed).
CONFIGURED_PERSONALIZER = django_settings.SHOP_PERSONALIZER


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    """The storefront's own answers (the recommender plugin has tests of its own)."""
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


SEARCH_URL = reverse("shop:search")
HOME_URL = reverse("shop:home")


@pytest.fixture
def catalogue():
    """A small catalogue: Beauty > Makeup > Lipstick, Beauty > Nails, and Hair."""
    categories = category_tree("Beauty > Makeup > Lipstick", "Beauty > Nails", "Hair")
    lipstick, nails, hair = categories["lipstick"], categories["nails"], categories["hair"]
    glow, acme = (BrandFactory(name=name, slug=name.lower()) for name in ("Glowco", "Acme"))
    products = products_from_rows(
        "title category brand price currency stock",
        {
            "red": ("Red velvet lipstick", lipstick, glow, Decimal("10.00"), "EUR", 5),
            "matte": ("Matte lipstick", lipstick, acme, Decimal("20.00"), "EUR", 0),
            "polish": ("Nail polish", nails, glow, Decimal("5.00"), "EUR", 3),
            "shampoo": ("Shampoo", hair, acme, Decimal("8.00"), "EUR", 1),
            "kouhong": ("口红 classic", lipstick, glow, None, "", 2),
        },
    )
    products["hidden"] = ProductFactory(
        title="Hidden lipstick", category=lipstick, brand=glow, is_active=False
    )
    now = timezone.now()
    days_old_and_popularity = {  # and the same trending figure
        "red": (5, 3),
        "matte": (4, 9),
        "polish": (3, 1),
        "shampoo": (2, 7),
        "kouhong": (1, 5),
    }
    for name, (days_old, popularity) in days_old_and_popularity.items():
        Product.objects.filter(pk=products[name].pk).update(
            created_at=now - timedelta(days=days_old), popularity=popularity, trending=popularity
        )
        products[name].refresh_from_db()
    return {
        "products": products,
        "categories": categories,
        "brands": {"glow": glow, "acme": acme},
    }


def search(client, **params):
    response = client.get(SEARCH_URL, params)
    assert response.status_code == 200, response.content.decode()[:500]
    return response


def hit_titles(response) -> list[str]:
    return [hit.product.title for hit, _link in response.context["hits"]]


def hit_pks(response) -> set[int]:
    return {hit.product.pk for hit, _link in response.context["hits"]}


def pks(catalogue, *names) -> set[int]:
    return {catalogue["products"][n].pk for n in names}


# --- Home page -------------------------------------------------------------------------


def test_home_page_lists_trending_products_most_interacted_first(client, catalogue):
    products = catalogue["products"]
    for _ in range(3):  # three shoppers each: enough to trend
        EventFactory(product=products["polish"], event_type=EventType.VIEW)
        EventFactory(product=products["red"], event_type=EventType.PURCHASE)  # weight 5
    popularity_refresh()  # what the Celery task does every 10 minutes

    response = client.get(HOME_URL)

    assert response.status_code == 200
    trending = response.context["trending"]
    assert trending == [products["red"], products["polish"]]  # the others: no shoppers
    assert products["hidden"] not in trending
    assert "Red velvet lipstick" in response.content.decode()


def test_home_page_lists_products_by_their_trending_figure(client, catalogue):
    response = client.get(HOME_URL)

    assert response.status_code == 200
    assert response.context["trending"][0] == catalogue["products"]["matte"]  # trending 9


def test_home_page_with_nothing_trending_shows_the_newest_products_as_new(client, catalogue):
    """One visitor's views do not make anything "popular right now"."""
    Product.objects.update(trending=0)
    products = catalogue["products"]
    visitor = UserFactory()
    for _ in range(5):
        EventFactory(product=products["polish"], user=visitor)
    popularity_refresh()

    response = client.get(HOME_URL)

    body = response.content.decode()
    assert "Popular right now" not in body and "<h2>New in the shop</h2>" in body
    assert response.context["newest"][0] == products["kouhong"]  # a day old


def test_home_page_on_an_empty_shop_says_so(client):
    response = client.get(HOME_URL)

    assert response.status_code == 200
    assert "No products yet" in response.content.decode()


def test_home_page_recommends_to_a_logged_in_shopper_but_not_what_they_bought(client, catalogue):
    products = catalogue["products"]
    shopper = UserFactory()
    EventFactory(user=shopper, product=products["matte"], event_type=EventType.PURCHASE)
    client.force_login(shopper)

    response = client.get(HOME_URL)

    assert response.status_code == 200
    recommended = [product for product, _item in response.context["recommended"]]
    assert recommended
    assert products["matte"] not in recommended
    assert products["hidden"] not in recommended
    # The shop's own personalizer answers with popularity: not labelled "for you".
    body = response.content.decode()
    assert "Popular right now" in body
    assert "Recommended for you" not in body


def test_home_page_recommends_to_an_anonymous_visitor_with_a_session(client, catalogue):
    client.get(catalogue["products"]["red"].get_absolute_url())  # starts a session

    response = client.get(HOME_URL)

    assert response.context["recommended"]
    assert "Popular right now" in response.content.decode()


def test_home_page_has_no_recommendations_for_a_first_time_visitor(client, catalogue):
    response = client.get(HOME_URL)

    assert response.context["recommended"] == []
    assert "Recommended for you" not in response.content.decode()


# --- Search: matching ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("velvet", {"red"}),  # a title word
        ("glowco", {"red", "polish", "kouhong"}),  # a brand name
        ("nails", {"polish"}),  # a category name
        ("beauty", {"red", "matte", "polish", "kouhong"}),  # an ancestor category
        ("LIPSTICK", {"red", "matte", "kouhong"}),  # case-insensitive
        ("lipstick acme", {"matte"}),  # every word must match
        ("口红", {"kouhong"}),  # non-Latin scripts
        ("", {"red", "matte", "polish", "shampoo", "kouhong"}),  # no query: everything
    ],
)
def test_search_matches_words_in_title_brand_and_category(client, catalogue, query, expected):
    response = search(client, q=query, page_size=50)

    assert hit_pks(response) == pks(catalogue, *expected)
    assert response.context["result"].total == len(expected)


def test_search_never_shows_inactive_products(client, catalogue):
    response = search(client, q="hidden")

    assert response.context["result"].total == 0
    assert "No products match" in response.content.decode()


def test_search_ranks_title_matches_above_category_matches(client, catalogue):
    other = ProductFactory(
        title="Balm", category=catalogue["categories"]["lipstick"], brand=BrandFactory()
    )
    Product.objects.filter(pk=other.pk).update(popularity=1000)
    # In stock, so that the in-stock-first rule does not decide the order.
    Product.objects.filter(pk=catalogue["products"]["matte"].pk).update(stock=4)

    response = search(client, q="lipstick")

    titles = hit_titles(response)
    assert titles.index("Balm") > titles.index("Red velvet lipstick")
    assert titles.index("Balm") > titles.index("Matte lipstick")


def test_search_result_links_carry_query_position_and_search_event(client, catalogue):
    response = search(client, q="lipstick")

    search_event = Event.objects.get(event_type=EventType.SEARCH)
    links = [link for _hit, link in response.context["hits"]]
    assert links[0].endswith(f"?q=lipstick&pos=1&sid={search_event.pk}")
    assert links[1].endswith(f"?q=lipstick&pos=2&sid={search_event.pk}")


# --- Search: pagination ----------------------------------------------------------------


def test_search_pages_through_all_results_without_repeats(client, catalogue):
    seen = []
    for page in (1, 2, 3):
        response = search(client, page_size=2, page=page)
        result = response.context["result"]
        assert (result.page, result.num_pages, result.total) == (page, 3, 5)
        seen += [hit.product.pk for hit, _link in response.context["hits"]]

    assert len(seen) == 5
    assert set(seen) == pks(catalogue, "red", "matte", "polish", "shampoo", "kouhong")


def test_search_pager_links_keep_the_filters(client, catalogue):
    response = search(client, q="lipstick", page_size=1, page=2)

    body = response.content.decode()
    assert "Page 2 of 3" in body
    assert "q=lipstick&amp;page_size=1&amp;page=1" in body
    assert "q=lipstick&amp;page_size=1&amp;page=3" in body


def test_search_past_the_last_page_shows_the_last_page(client, catalogue):
    response = search(client, page_size=2, page=999999999)

    assert response.context["result"].page == 3
    assert len(response.context["hits"]) == 1


# --- Search: facets and filters --------------------------------------------------------


def test_search_facets_count_categories_and_brands_of_the_matches(client, catalogue):
    response = search(client, q="lipstick")

    facets = response.context["result"].facets
    lipstick = catalogue["categories"]["lipstick"]
    brands = catalogue["brands"]
    assert [(f.id, f.count) for f in facets["category"]] == [(lipstick.pk, 3)]
    assert [(f.id, f.name, f.count) for f in facets["brand"]] == [
        (brands["glow"].pk, "Glowco", 2),
        (brands["acme"].pk, "Acme", 1),
    ]
    assert "Glowco (2)" in response.content.decode()


def test_category_filter_on_a_leaf_keeps_only_that_category(client, catalogue):
    response = search(client, category=catalogue["categories"]["nails"].pk)

    assert hit_pks(response) == pks(catalogue, "polish")


def test_category_filter_on_a_parent_includes_its_descendants(client, catalogue):
    response = search(client, category=catalogue["categories"]["beauty"].pk)

    assert hit_pks(response) == pks(catalogue, "red", "matte", "polish", "kouhong")


def test_category_filter_on_a_middle_category_includes_its_subtree_only(client, catalogue):
    response = search(client, category=catalogue["categories"]["makeup"].pk)

    assert hit_pks(response) == pks(catalogue, "red", "matte", "kouhong")


def test_brand_filter_keeps_only_that_brand(client, catalogue):
    response = search(client, brand=catalogue["brands"]["acme"].pk)

    assert hit_pks(response) == pks(catalogue, "matte", "shampoo")


def test_filters_combine_with_the_query(client, catalogue):
    response = search(
        client,
        q="lipstick",
        brand=catalogue["brands"]["glow"].pk,
        category=catalogue["categories"]["beauty"].pk,
    )

    assert hit_pks(response) == pks(catalogue, "red", "kouhong")


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"price_min": "8", "price_max": "15"}, {"red", "shampoo"}),  # bounds included
        ({"price_min": "10.01"}, {"matte"}),
        ({"price_max": "7.999"}, {"polish"}),
        ({"price_min": "5", "price_max": "5"}, {"polish"}),
        ({"price_min": "0.001"}, {"red", "matte", "polish", "shampoo"}),
        ({"price_min": "1e-100000"}, {"red", "matte", "polish", "shampoo"}),  # tiny exponent
        ({"price_max": "10000000000"}, {"red", "matte", "polish", "shampoo"}),
    ],
)
def test_price_range_filter_keeps_prices_within_bounds(client, catalogue, bounds, expected):
    response = search(client, **bounds)

    assert hit_pks(response) == pks(catalogue, *expected)


def test_in_stock_filter_hides_sold_out_products(client, catalogue):
    response = search(client, q="lipstick", in_stock="1")

    assert hit_pks(response) == pks(catalogue, "red", "kouhong")
    assert 'name="in_stock" value="1" checked' in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # No query: popularity, products in stock first (matte is out of stock).
        ("relevance", ["shampoo", "kouhong", "red", "polish", "matte"]),
        ("popular", ["matte", "shampoo", "kouhong", "red", "polish"]),
        ("price_asc", ["polish", "shampoo", "red", "matte", "kouhong"]),  # unknown price last
        ("price_desc", ["matte", "red", "shampoo", "polish", "kouhong"]),
        ("newest", ["kouhong", "shampoo", "polish", "matte", "red"]),
    ],
)
def test_each_sort_option_orders_the_results(client, catalogue, sort, expected):
    response = search(client, sort=sort)

    products = catalogue["products"]
    assert hit_titles(response) == [products[name].title for name in expected]
    assert f'<option value="{sort}" selected>' in response.content.decode()


def test_relevance_sort_puts_the_best_text_match_first(client, catalogue):
    response = search(client, q="lipstick glowco")  # title + brand beats brand + category

    assert hit_titles(response) == ["Red velvet lipstick", "口红 classic"]


# --- Search: event log -----------------------------------------------------------------


def test_search_records_a_search_event_with_the_query_for_an_anonymous_visitor(client, catalogue):
    search(client, q="  lipstick  ")

    event = Event.objects.get(event_type=EventType.SEARCH)
    assert event.query == "lipstick"
    assert event.user is None
    assert event.session_id == client.session.session_key
    assert event.product is None
    assert event.context["results"] == 3


def test_search_records_a_search_event_for_a_logged_in_shopper(client, catalogue):
    shopper = UserFactory()
    client.force_login(shopper)

    search(client, q="nail")

    event = Event.objects.get(event_type=EventType.SEARCH)
    assert (event.user, event.query) == (shopper, "nail")


def test_browsing_without_a_query_records_no_search_event(client, catalogue):
    search(client, category=catalogue["categories"]["beauty"].pk)

    assert not Event.objects.filter(event_type=EventType.SEARCH).exists()


# --- Product page ----------------------------------------------------------------------


def test_product_page_shows_the_product(client, catalogue):
    product = catalogue["products"]["red"]

    response = client.get(product.get_absolute_url())

    assert response.status_code == 200
    body = response.content.decode()
    assert "Red velvet lipstick" in body
    assert "Beauty &gt; Makeup &gt; Lipstick" in body


def test_unknown_product_is_404(client, catalogue):
    assert client.get(reverse("shop:product", args=[999999])).status_code == 404


def test_product_id_beyond_the_database_integer_range_is_404(client, catalogue):
    assert client.get("/products/99999999999999999999999999/").status_code == 404


def test_inactive_product_is_404(client, catalogue):
    response = client.get(catalogue["products"]["hidden"].get_absolute_url())

    assert response.status_code == 404
    assert not Event.objects.exists()


def test_product_page_records_a_view_for_the_logged_in_shopper(client, catalogue):
    shopper = UserFactory()
    client.force_login(shopper)
    product = catalogue["products"]["red"]

    client.get(product.get_absolute_url())

    event = Event.objects.exclude(event_type=EventType.IMPRESSION).get()
    assert (event.event_type, event.user, event.product) == (EventType.VIEW, shopper, product)
    product.refresh_from_db()
    assert product.popularity == 3  # the request does not count it; the refresh does
    popularity_refresh()
    product.refresh_from_db()
    assert 0.95 < product.popularity <= 1  # one shopper's view, hours old


def test_product_page_records_views_of_an_anonymous_visitor_in_one_session(client, catalogue):
    products = catalogue["products"]

    client.get(products["red"].get_absolute_url())
    client.get(products["polish"].get_absolute_url())

    events = list(Event.objects.order_by("id"))
    assert [(e.event_type, e.product) for e in events if e.product] == [
        (EventType.VIEW, products["red"]),
        (EventType.VIEW, products["polish"]),
    ]
    session_key = client.session.session_key
    assert session_key
    assert {e.session_id for e in events} == {session_key}
    assert all(e.user is None for e in events)


def test_following_a_search_result_records_a_click_with_query_and_position(client, catalogue):
    response = search(client, q="lipstick")
    hit, link = response.context["hits"][1]

    assert client.get(link).status_code == 200

    search_event = Event.objects.get(event_type=EventType.SEARCH)
    click = Event.objects.get(event_type=EventType.CLICK)
    assert (click.product, click.query, click.position) == (hit.product, "lipstick", 2)
    assert click.context == {"search_event_id": search_event.pk}
    assert click.session_id == search_event.session_id
    assert Event.objects.filter(event_type=EventType.VIEW, product=hit.product).count() == 1


def test_product_page_without_a_position_records_no_click(client, catalogue):
    client.get(catalogue["products"]["red"].get_absolute_url(), {"q": "lipstick"})

    assert not Event.objects.filter(event_type=EventType.CLICK).exists()


@pytest.mark.parametrize(
    "params",
    [
        {"pos": "²"},  # str.isdigit() is True, int() refuses it
        {"pos": "-1"},
        {"pos": "abc"},
        {"pos": "9" * 40},
        {"pos": "1", "sid": "²"},
        {"pos": "1", "sid": "9" * 40},
        {"pos": "1", "q": "nul\x00byte"},
        {"pos": "1", "q": "x" * 10_000},
    ],
)
def test_product_page_with_odd_click_parameters_still_renders(client, catalogue, params):
    response = client.get(catalogue["products"]["red"].get_absolute_url(), params)

    assert response.status_code == 200
    assert Event.objects.filter(event_type=EventType.VIEW).count() == 1
    for click in Event.objects.filter(event_type=EventType.CLICK):
        assert "\x00" not in click.query
        assert len(click.query) <= 500


def test_product_page_lists_similar_items(client, catalogue):
    products = catalogue["products"]

    response = client.get(products["red"].get_absolute_url())

    similar = [product for product, _item in response.context["similar"]]
    assert similar == [products["matte"], products["kouhong"]]  # same category, popular first
    assert "Similar items" in response.content.decode()


# --- Recommendation lists: impressions, clicks and their conversions ------------------


def card_links(response, list_name: str) -> list[str]:
    """The links of the page's cards of the recommendation list ``list_name``, in order."""
    pattern = rf'href="([^"]*\?list={list_name}&[^"]*)"'
    return [html.unescape(link) for link in re.findall(pattern, response.content.decode())]


def test_home_page_logs_the_recommendations_it_shows_as_one_impression(client, catalogue):
    shopper = UserFactory()
    client.force_login(shopper)

    response = client.get(HOME_URL)

    shown = [product.pk for product, _item in response.context["recommended"]]
    impression = Event.objects.get(event_type=EventType.IMPRESSION)
    assert (impression.user, impression.product) == (shopper, None)
    assert impression.context == {"list": "recommendations", "shown": shown}
    assert card_links(response, "recommendations") == [
        f"/products/{pk}/?list=recommendations&pos={n}&imp={impression.pk}"
        for n, pk in enumerate(shown, start=1)
    ]


def test_a_home_page_without_recommendations_logs_nothing(client, catalogue):
    response = client.get(HOME_URL)

    assert response.context["recommended"] == []
    assert not Event.objects.exists()
    assert card_links(response, "recommendations") == []


def test_an_impression_adds_no_popularity(client, catalogue):
    client.force_login(UserFactory())
    before = dict(Product.objects.values_list("pk", "popularity"))

    client.get(HOME_URL)

    assert Event.objects.filter(event_type=EventType.IMPRESSION).exists()
    assert dict(Product.objects.values_list("pk", "popularity")) == before


def test_a_recommended_card_followed_and_bought_is_a_click_and_a_conversion(client, catalogue):
    shopper = UserFactory()
    client.force_login(shopper)
    home = client.get(HOME_URL)
    shown = [product for product, _item in home.context["recommended"]]
    impression = Event.objects.get(event_type=EventType.IMPRESSION)

    assert client.get(card_links(home, "recommendations")[1]).status_code == 200

    click = Event.objects.get(event_type=EventType.CLICK)
    assert (click.user, click.product, click.position, click.query) == (shopper, shown[1], 2, "")
    assert click.context == {"list": "recommendations", "impression": impression.pk}
    assert Event.objects.filter(event_type=EventType.VIEW, product=shown[1]).count() == 1
    bought = {"type": "purchase", "sku": shown[1].sku, "occurred_at": timezone.now().isoformat()}
    answer = client.post(
        reverse("v1:events"), {"events": [bought]}, content_type="application/json"
    )
    assert answer.json()["created"] == 1
    rollups_refresh()
    today = timezone.localdate()
    row = DailyRecommendations.objects.get(day=today, list="recommendations")
    assert (row.impressions, row.clicks, row.conversions) == (1, 1, 1)


def test_product_page_logs_its_similar_items_and_a_click_on_one(client, catalogue):
    products = catalogue["products"]
    page = client.get(products["red"].get_absolute_url())
    impression = Event.objects.get(event_type=EventType.IMPRESSION)
    similar = [product.pk for product, _item in page.context["similar"]]
    assert impression.context == {"list": "similar", "shown": similar}
    assert impression.session_id == client.session.session_key
    links = card_links(page, "similar")
    assert links[0] == f"/products/{similar[0]}/?list=similar&pos=1&imp={impression.pk}"

    client.get(links[0])

    click = Event.objects.get(event_type=EventType.CLICK)
    assert (click.product_id, click.position) == (similar[0], 1)
    assert click.context == {"list": "similar", "impression": impression.pk}
    rollups_refresh()
    row = DailyRecommendations.objects.get(day=timezone.localdate(), list="similar")
    assert (row.impressions, row.clicks, row.conversions) == (2, 1, 0)  # both pages showed some


@pytest.mark.parametrize(
    ("params", "context"),
    [
        ({"list": "similar", "pos": "3", "imp": "²"}, {"list": "similar"}),
        ({"list": "similar", "pos": "3", "imp": "9" * 40}, {"list": "similar"}),
        ({"list": "sidebar", "pos": "3", "imp": "5"}, {}),  # not a list: a plain click
    ],
)
def test_odd_list_click_parameters_log_what_they_can(client, catalogue, params, context):
    response = client.get(catalogue["products"]["red"].get_absolute_url(), params)

    assert response.status_code == 200
    click = Event.objects.get(event_type=EventType.CLICK)
    assert (click.position, click.context) == (3, context)


def test_a_list_card_without_a_position_logs_no_click(client, catalogue):
    client.get(catalogue["products"]["red"].get_absolute_url(), {"list": "similar", "imp": "5"})

    assert not Event.objects.filter(event_type=EventType.CLICK).exists()


# --- Log in and out --------------------------------------------------------------------


def test_login_page_renders(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_login_with_the_right_password_logs_the_shopper_in(client):
    shopper = UserFactory(username="ann")

    response = client.post(reverse("login"), {"username": "ann", "password": "pass-word-123"})

    assert response.status_code == 302
    assert response["Location"] == HOME_URL
    assert client.session[SESSION_KEY] == str(shopper.pk)
    assert "Log out ann" in client.get(HOME_URL).content.decode()


def test_login_with_a_wrong_password_shows_an_error(client):
    UserFactory(username="ann")

    response = client.post(reverse("login"), {"username": "ann", "password": "nope"})

    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_logout_is_a_post_and_logs_the_shopper_out(client):
    client.force_login(UserFactory())

    assert client.get(reverse("logout")).status_code == 405
    assert SESSION_KEY in client.session

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == HOME_URL
    assert SESSION_KEY not in client.session


# --- Bad input -------------------------------------------------------------------------


# Odd but valid input, by parameter: answered with a page (maybe with no results).
ODD_BUT_VALID = {
    "q": ["", "' OR 1=1; DROP TABLE shop_product; --", "💄✨", "口红", "100% _cotton_ \\"],
    "page": ["999999999"],  # past the end: the last page
    "page_size": ["100000"],
    "price_min": ["1e-100000"],
    "in_stock": ["maybe"],
}
# Invalid input, by parameter: a 400 page naming that parameter.
REJECTED = {
    "q": ["x" * 10_240, "nul\x00byte"],
    "page": ["-1", "0", "abc", "²", str(10**30)],
    "page_size": ["0"],
    "price_min": ["-5", "Infinity"],
    "price_max": ["abc", "NaN", "1e400"],
    "category": ["999999", "abc"],
    "brand": ["abc", "999999"],
    "sort": ["bogus"],
}


def _cases(table: dict[str, list[str]]) -> list:
    return [
        pytest.param(field, value, id=f"{field}={value[:24]!r}")
        for field, values in table.items()
        for value in values
    ]


@pytest.mark.parametrize(("field", "value"), _cases(ODD_BUT_VALID))
def test_odd_search_input_gives_a_page(client, catalogue, field, value):
    products_before = Product.objects.count()

    response = client.get(SEARCH_URL, {field: value})

    assert response.status_code == 200
    assert "Cannot search" not in response.content.decode()
    assert response.context["result"].page >= 1
    assert Product.objects.count() == products_before  # nothing was dropped


@pytest.mark.parametrize(("field", "value"), _cases(REJECTED))
def test_bad_search_input_gives_a_400_naming_the_field(client, catalogue, field, value):
    products_before = Product.objects.count()

    response = client.get(SEARCH_URL, {field: value})

    assert response.status_code == 400
    assert f"<strong>Cannot search:</strong> {field} " in response.content.decode()
    assert Product.objects.count() == products_before  # nothing was dropped


def test_a_price_range_upside_down_gives_a_400_naming_the_maximum(client, catalogue):
    response = client.get(SEARCH_URL, {"price_min": "20", "price_max": "10"})

    assert response.status_code == 400
    assert "<strong>Cannot search:</strong> price_max " in response.content.decode()


def test_sql_looking_query_is_searched_as_plain_words(client, catalogue):
    response = search(client, q="' OR 1=1; DROP TABLE shop_product; --")

    assert response.context["result"].total == 0
    event = Event.objects.get(event_type=EventType.SEARCH)
    assert event.query == "' OR 1=1; DROP TABLE shop_product; --"


def test_a_400_page_escapes_the_query(client, catalogue):
    response = client.get(SEARCH_URL, {"q": "<script>x</script>", "sort": "bogus"})

    assert response.status_code == 400
    assert "<script>x</script>" not in response.content.decode()


def test_every_page_works_with_the_configured_personalizer(client, settings, catalogue):
    """Whatever personalizer the project configures (before any model is trained)."""
    settings.SHOP_PERSONALIZER = CONFIGURED_PERSONALIZER
    client.force_login(UserFactory())
    product = catalogue["products"]["red"]

    pages = [
        client.get(HOME_URL),
        client.get(SEARCH_URL, {"q": "lipstick"}),
        client.get(SEARCH_URL, {"q": "lipstick", "sort": "price_asc", "page": "2"}),
        client.get(product.get_absolute_url(), {"q": "lipstick", "pos": "1"}),
    ]

    assert [page.status_code for page in pages] == [200] * 4
    assert hit_pks(pages[1]) == pks(catalogue, "red", "matte", "kouhong")
