"""A visitor with a history sees "ordered for you" and why, switches personalization
off in the header, and sees the label go; the privacy page shows the switch's state.

The personalizer is tests.shop.test_storefront_labels.RecentViewsPersonalizer, a plug-in
of the shop's interface that favours the categories of the shopper's latest views (the
recommender would need a trained model)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.browser.conftest import SIZES, tap, wait_for, wait_until_gone
from tests.factories import BrandFactory, category_tree, products_from_rows

pytestmark = pytest.mark.django_db(transaction=True)

PERSONALIZER = "tests.shop.test_storefront_labels.RecentViewsPersonalizer"
HEADER_SWITCH = "header [data-testid=personalization-switch]"


@pytest.fixture
def catalogue(settings):
    settings.SHOP_PERSONALIZER = PERSONALIZER
    categories = category_tree("Beauty > Lipstick", "Beauty > Nails")
    glow = BrandFactory(name="Glowco", slug="glowco")
    return products_from_rows(
        "title category brand price stock popularity",
        {
            "red": ("Red velvet lipstick", categories["lipstick"], glow, Decimal(10), 5, 30),
            "pink": ("Pink lipstick", categories["lipstick"], glow, Decimal(12), 5, 20),
            "polish": ("Nail polish", categories["nails"], glow, Decimal(5), 3, 1),
        },
    )


def result_titles(browser) -> list[str]:
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".grid-cards .card-title")]


@pytest.mark.parametrize("size", list(SIZES))
def test_a_visitor_sees_why_the_order_is_theirs_and_switches_it_off(
    browser, catalogue, screenshot, size
):
    browser.set_window_size(*SIZES[size])
    base = browser.live_server_url
    browser.get(f"{base}{catalogue['polish'].get_absolute_url()}")
    browser.get(f"{base}{reverse('shop:search')}?q=glowco")

    label = browser.find_element(By.CSS_SELECTOR, ".result-summary .for-you")
    assert label.text == "ordered for you"
    assert result_titles(browser)[0] == "Nail polish"
    why = browser.find_element(By.CSS_SELECTOR, ".result-summary details.why")
    assert not why.find_element(By.CSS_SELECTOR, "div").is_displayed()
    tap(browser, why.find_element(By.TAG_NAME, "summary"))  # a tap opens it
    reason = why.find_element(By.CSS_SELECTOR, "div p")
    wait_for(browser, lambda b: reason.is_displayed())
    assert reason.text == "Ordered using your recent views: “Nail polish”."
    switch = browser.find_element(By.CSS_SELECTOR, HEADER_SWITCH)
    assert switch.get_attribute("aria-checked") == "true"
    screenshot(browser, f"storefront-search-{size}")

    tap(browser, switch)  # a POST with the page's CSRF token, back to this search

    wait_until_gone(browser, switch)
    switch = browser.find_element(By.CSS_SELECTOR, HEADER_SWITCH)
    assert switch.get_attribute("aria-checked") == "false"
    assert "/search/?q=glowco" in browser.current_url
    assert not browser.find_elements(By.CSS_SELECTOR, ".for-you")
    assert not browser.find_elements(By.CSS_SELECTOR, "details.why")
    # The order everyone gets (a visitor without history: text and popularity, which
    # Postgres and SQLite weigh differently).
    everyones = Client().get(reverse("shop:search"), {"q": "glowco"}).context["hits"]
    assert result_titles(browser) == [hit.product.title for hit, _link in everyones]

    browser.get(f"{base}{reverse('shop:personalization')}")
    state = browser.find_element(By.CSS_SELECTOR, "[data-testid=personalization-state]")
    assert state.text == "off"
    assert "Nail polish" in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, f"storefront-privacy-{size}")

    page_switch = browser.find_element(By.CSS_SELECTOR, "main [data-testid=personalization-switch]")
    tap(browser, page_switch)  # back on, from the privacy page

    wait_until_gone(browser, page_switch)
    state = browser.find_element(By.CSS_SELECTOR, "[data-testid=personalization-state]")
    assert state.text == "on"
    browser.get(f"{base}{reverse('shop:search')}?q=glowco")
    assert browser.find_element(By.CSS_SELECTOR, ".for-you").text == "ordered for you"
