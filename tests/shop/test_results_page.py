"""The search results page: the filter panel, empty states that name the filter to
blame, unknown prices sorted last with a note, and product cards with an image or a
placeholder."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import BrandFactory, category_tree, products_from_rows

pytestmark = pytest.mark.django_db

SEARCH = reverse("shop:search")


@pytest.fixture(autouse=True)
def _default_personalizer(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


@pytest.fixture
def catalogue():
    categories = category_tree("Beauty > Lipstick", "Beauty > Nails")
    glow, acme = BrandFactory(name="Glowco", slug="glowco"), BrandFactory(name="Acme", slug="acme")
    products = products_from_rows(
        "title category brand price currency stock image_url",
        {
            "red": ("Red lipstick", categories["lipstick"], glow, Decimal(10), "EUR", 0, ""),
            "pink": ("Pink lipstick", categories["lipstick"], glow, None, "", 5, ""),
            "gold": ("Gold lipstick", categories["lipstick"], glow, Decimal(30), "EUR", 5, ""),
            "polish": (
                "Nail polish",
                categories["nails"],
                acme,
                Decimal(5),
                "EUR",
                3,
                "https://images.example.com/polish.jpg",
            ),
        },
    )
    return {"categories": categories, "glow": glow, "acme": acme, **products}


def page(client, **params) -> str:
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    return response.content.decode()


def titles(html: str) -> list[str]:
    return [part.split("<", 1)[0] for part in html.split('class="card-title">')[1:]]


def test_a_filter_that_removes_every_result_is_named_with_a_link_without_it(client, catalogue):
    html = page(client, q="lipstick", brand=catalogue["acme"].pk)
    assert "Try fewer or different words" not in html
    assert "“lipstick” finds products, but the filter brand “Acme” removed them all" in html
    assert '<a href="?q=lipstick">Search without brand “Acme”</a>' in html
    assert titles(page(client, q="lipstick")) != []


def test_each_filter_whose_removal_brings_results_back_is_offered(client, catalogue):
    html = page(
        client,
        q="lipstick",
        brand=catalogue["acme"].pk,
        category=catalogue["categories"]["nails"].pk,
    )
    assert "none match these filters together" in html  # removing one alone is not enough
    assert 'href="?q=lipstick&amp;sort=relevance">Clear all filters' in html

    html = page(client, q="lipstick", in_stock="1", price_max="10")
    assert "the filters removed them all; removing one of these brings some back" in html
    assert "Search without in stock only" in html
    assert "Search without price up to 10.00" in html


def test_a_query_that_finds_nothing_asks_for_other_words(client, catalogue):
    html = page(client, q="zebra", brand=catalogue["acme"].pk)
    assert "No products match “zebra”. Try fewer or different words." in html
    assert "Clear all filters" not in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Red lipstick", "Gold lipstick", "Pink lipstick"]),
        ("price_desc", ["Gold lipstick", "Red lipstick", "Pink lipstick"]),
    ],
)
def test_unknown_prices_are_sorted_last_with_a_note(client, catalogue, sort, expected):
    html = page(client, q="lipstick", sort=sort)
    assert titles(html) == expected
    assert "1 product without a price is listed last." in html


def test_no_price_note_for_other_sorts_or_when_every_price_is_known(client, catalogue):
    assert "without a price" not in page(client, q="lipstick")
    assert "without a price" not in page(client, q="polish", sort="price_asc")


def test_cards_show_the_catalogue_image_lazily_or_a_placeholder(client, catalogue):
    html = page(client, q="polish")
    assert (
        '<img class="card-image" src="https://images.example.com/polish.jpg" alt="Nail polish"'
        ' loading="lazy"' in html
    )
    html = page(client, q="red")
    assert "<img" not in html.split("<main")[1]
    assert (
        '<div class="card-image card-placeholder" aria-hidden="true"><span>R</span></div>' in html
    )


def test_filters_and_sort_come_before_the_results_in_a_collapsible_panel(client, catalogue):
    html = page(client, q="lipstick", in_stock="1")
    panel = html.index('<details class="filters" open data-collapse-on-phone>')
    assert panel < html.index('<select name="sort">') < html.index('class="grid-cards"')
    assert "<summary>Filters and sort (1 on)</summary>" in html
    assert 'aria-label="Remove filter: in stock only"' in html


def test_the_search_box_is_a_plain_form_with_the_autocomplete_script(client, catalogue):
    html = page(client, q="lipstick")
    assert '<form role="search" action="/search/" method="get" class="search-box"' in html
    assert 'data-autocomplete="/search/autocomplete/"' in html
    assert 'role="listbox"' in html and "shop/search.js" in html
