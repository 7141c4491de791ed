"""A shopper types into the search box, picks a completion with the keyboard, sees the
results, filters, sorts, pages and opens a product, on a desktop window and on a phone;
on a phone the filters and sort sit above the results in a collapsible panel."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import PHONE, SIZES, tap, wait_for, wait_until_gone
from tests.factories import BrandFactory, ProductFactory, category_tree

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(settings, live_server):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    categories = category_tree("Beauty > Hair Care > Shampoos", "Beauty > Hair Care > Conditioners")
    brand = BrandFactory(name="Sudsy", slug="sudsy")
    image = f"{live_server.url}/static/shop/favicon.svg"
    for n in range(30):
        ProductFactory(
            title=f"Herbal shampoo no. {n}",
            category=categories["shampoos"],
            brand=brand,
            price=None if n % 3 == 0 else Decimal(5 + n),
            currency="" if n % 3 == 0 else "EUR",
            image_url=image if n % 4 == 0 else "",
            popularity=n,
        )
    for n in range(5):
        ProductFactory(
            title=f"Shampoo and conditioner {n}",
            category=categories["conditioners"],
            brand=brand,
            price=Decimal(20),
            popularity=100,
        )
    return categories


def titles(browser) -> list[str]:
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".grid-cards .card-title")]


def submit_and_wait(browser, action) -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    action()
    wait_until_gone(browser, old)


def options(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#search-suggestions [role=option]")


def open_filters(browser) -> None:
    """Open the filters panel where it is collapsed (a phone)."""
    panel = browser.find_element(By.CSS_SELECTOR, "details.filters")
    if panel.get_attribute("open") is None:
        tap(browser, panel.find_element(By.TAG_NAME, "summary"))
        wait_for(browser, lambda b: panel.get_attribute("open") is not None)


@pytest.mark.parametrize("size", list(SIZES))
def test_type_pick_a_completion_with_the_keyboard_filter_sort_page_and_open_a_product(
    browser, catalogue, screenshot, size
):
    browser.set_window_size(*SIZES[size])
    browser.get(browser.live_server_url + "/")
    box = browser.find_element(By.CSS_SELECTOR, "header input[name=q]")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    box.send_keys("sha")
    wait_for(browser, lambda b: len(options(b)) > 0)
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-controls") == "search-suggestions"
    listbox = browser.find_element(By.ID, "search-suggestions")
    assert listbox.get_attribute("role") == "listbox" and listbox.is_displayed()
    assert options(browser)[0].text.splitlines()[0] == "shampoo"
    edges = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, innerWidth]",
        listbox,
    )
    assert edges[0] >= 0 and edges[1] <= edges[2]  # inside the screen, a phone's too

    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    second = options(browser)[1]
    assert box.get_attribute("aria-activedescendant") == second.get_attribute("id")
    assert second.get_attribute("aria-selected") == "true"
    box.send_keys(Keys.ARROW_UP)
    first = options(browser)[0]
    assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
    screenshot(browser, f"search-box-{size}")
    # Escape closes the list; Down opens it again.
    box.send_keys(Keys.ESCAPE)
    wait_for(browser, lambda b: not listbox.is_displayed())
    assert box.get_attribute("aria-expanded") == "false"
    box.send_keys(Keys.ARROW_DOWN)
    wait_for(browser, lambda b: len(options(b)) > 0)
    box.send_keys(Keys.ARROW_DOWN)
    submit_and_wait(browser, lambda: box.send_keys(Keys.ENTER))

    assert browser.current_url.endswith(f"{reverse('shop:search')}?q=shampoo")
    assert (
        "35 results for “shampoo”" in browser.find_element(By.CSS_SELECTOR, ".result-summary").text
    )
    assert len(titles(browser)) == 24

    # Filter: a category facet submits at once.
    open_filters(browser)
    shampoos = browser.find_element(
        By.CSS_SELECTOR, f"input[name=category][value='{catalogue['shampoos'].pk}']"
    )
    submit_and_wait(browser, lambda: tap(browser, shampoos))
    assert "30 results" in browser.find_element(By.CSS_SELECTOR, ".result-summary").text
    assert all(t.startswith("Herbal shampoo") for t in titles(browser))

    # Sort by price: unknown prices last, and said so.
    open_filters(browser)
    Select(browser.find_element(By.CSS_SELECTOR, "select[name=sort]")).select_by_value("price_asc")
    apply = browser.find_element(By.CSS_SELECTOR, "details.filters button[type=submit]")
    submit_and_wait(browser, lambda: tap(browser, apply))
    assert titles(browser)[:2] == ["Herbal shampoo no. 1", "Herbal shampoo no. 2"]
    note = browser.find_element(By.CSS_SELECTOR, ".unpriced-note").text
    assert note == "10 products without a price are listed last."
    assert browser.find_elements(By.CSS_SELECTOR, ".card img.card-image[loading=lazy]")
    assert browser.find_elements(By.CSS_SELECTOR, ".card .card-placeholder")
    screenshot(browser, f"results-{size}")

    # Page 2: the rest, unpriced ones at the end.
    submit_and_wait(browser, lambda: tap(browser, browser.find_element(By.LINK_TEXT, "Next →")))
    assert "Page 2 of 2" in browser.find_element(By.CSS_SELECTOR, ".pager").text
    assert len(titles(browser)) == 6
    assert all(
        "Price on request" in card.text
        for card in browser.find_elements(By.CSS_SELECTOR, ".grid-cards .card")
    )
    assert browser.execute_script("return document.documentElement.scrollWidth") <= (SIZES[size][0])

    # Open a product from the results: its page, with its price unknown said so.
    first = browser.find_elements(By.CSS_SELECTOR, ".grid-cards .card-title")[0]
    title = first.text
    submit_and_wait(browser, lambda: tap(browser, first))
    assert browser.find_element(By.TAG_NAME, "h1").text == title
    assert "/products/" in browser.current_url
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=price]").text == "Price on request"
    screenshot(browser, f"product-{size}")


def test_on_a_phone_the_filters_and_sort_open_above_the_results(browser, catalogue, screenshot):
    browser.set_window_size(*PHONE)
    browser.get(f"{browser.live_server_url}{reverse('shop:search')}?q=shampoo")
    panel = browser.find_element(By.CSS_SELECTOR, "details.filters")
    summary = panel.find_element(By.TAG_NAME, "summary")
    first_card = browser.find_element(By.CSS_SELECTOR, ".grid-cards .card")
    assert panel.get_attribute("open") is None  # collapsed on a phone
    assert summary.location["y"] < first_card.location["y"]
    assert summary.location["y"] < 844 / 2
    tap(browser, summary)
    sort = browser.find_element(By.CSS_SELECTOR, "select[name=sort]")
    wait_for(browser, lambda b: sort.is_displayed())
    Select(sort).select_by_value("price_desc")
    submit_and_wait(
        browser,
        lambda: tap(
            browser, browser.find_element(By.CSS_SELECTOR, "details.filters button[type=submit]")
        ),
    )
    assert titles(browser)[0] == "Herbal shampoo no. 29"
    assert "listed last" in browser.find_element(By.CSS_SELECTOR, ".unpriced-note").text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    screenshot(browser, "results-phone")
