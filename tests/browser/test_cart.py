"""A visitor adds to the cart from the product page, signs in (the cart comes along),
changes the quantity, places the order and finds it in the history; the stock taken
and the purchase recorded with the price paid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from selenium.webdriver.common.by import By

from shop.models import Event, EventType, Order, Product
from tests.browser.conftest import SIZES, tap, wait_for
from tests.factories import BrandFactory, category_tree, products_from_rows

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Correct-Horse-9"


@pytest.fixture
def catalogue(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    categories = category_tree("Beauty > Lipstick")
    glow = BrandFactory(name="Glowco", slug="glowco")
    return products_from_rows(
        "title category brand price currency stock description",
        {
            "red": (
                "Red velvet lipstick",
                categories["lipstick"],
                glow,
                Decimal("12.50"),
                "EUR",
                6,
                "A long-lasting matte red.",
            ),
        },
    )


def click_and_wait(browser, element) -> None:
    """Click a submit button and wait for the page it leads to."""
    old = browser.find_element(By.TAG_NAME, "html")
    tap(browser, element)
    wait_for(browser, lambda b: old.id != b.find_element(By.TAG_NAME, "html").id)


@pytest.mark.parametrize("size", list(SIZES))
def test_add_to_cart_sign_in_change_quantity_place_the_order_see_it(
    browser, catalogue, screenshot, size
):
    browser.set_window_size(*SIZES[size])
    user = get_user_model().objects.create_user(username="ada", password=PASSWORD)
    base = browser.live_server_url
    product = catalogue["red"]

    browser.get(f"{base}{product.get_absolute_url()}")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=price]").text == "12.50 EUR"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=stock]").text == "6 in stock"
    quantity = browser.find_element(By.ID, "add-quantity")
    quantity.clear()
    quantity.send_keys("2")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=add-to-cart]"))
    assert browser.current_url == f"{base}{reverse('shop:cart')}"
    assert "Added 2 × “Red velvet lipstick” to your cart." in browser.page_source

    # Signing in keeps the cart.
    browser.get(f"{base}{reverse('login')}?next={reverse('shop:cart')}")
    browser.find_element(By.NAME, "username").send_keys("ada")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    line = browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-line]")
    field = line.find_element(By.CSS_SELECTOR, "input[name=quantity]")
    assert field.get_attribute("value") == "2"

    field.clear()
    field.send_keys("3")
    click_and_wait(browser, line.find_element(By.XPATH, ".//button[text()='Update']"))
    field = browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-line] input[name=quantity]")
    assert field.get_attribute("value") == "3"
    total = browser.find_element(By.CSS_SELECTOR, "[data-testid=cart-total]").text
    assert "37.50 EUR" in total
    screenshot(browser, f"cart-{size}")

    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=place-order]"))
    order = Order.objects.get()
    assert order.user_id == user.pk
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Order {order.pk}"
    assert "37.50 EUR" in browser.find_element(By.CSS_SELECTOR, "[data-testid=order-total]").text
    screenshot(browser, f"order-{size}")

    tap(browser, browser.find_element(By.LINK_TEXT, "All your orders"))
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=order]"))
    assert f"Order {order.pk}" in browser.find_element(By.CSS_SELECTOR, "[data-testid=order]").text
    assert Product.objects.get(pk=product.pk).stock == 3
    purchase = Event.objects.get(event_type=EventType.PURCHASE)
    assert (purchase.user_id, purchase.value, purchase.context["price"]) == (user.pk, 3.0, "12.50")
