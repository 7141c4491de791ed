"""Every storefront page passes axe-core (vendored; WCAG 2.1 A/AA and best practices)
with no serious or critical violation, on a desktop window and a phone, in the states a
shopper meets: an empty shop, results with facets, a filter that leaves nothing, the
search box's open completion list, a product with similar items, the cart empty and
full, the order placed, the order history, the privacy page, sign-in, 404 and 500.
Each page is saved to var/screenshots/a11y-<size>-<page>.png."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from selenium.webdriver.common.by import By

from shop.models import Order
from shop.popularity import popularity_refresh
from tests.browser.axe import axe_serious
from tests.browser.conftest import SIZES, sign_in, tap, wait_for
from tests.factories import BrandFactory, EventFactory, category_tree, products_from_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(settings, live_server):
    """Lipsticks (one with an image, one without a price) and nail polish; views by
    three shoppers, so that products trend and have similar items."""
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"
    categories = category_tree("Beauty > Lipstick", "Beauty > Nails")
    glow = BrandFactory(name="Glowco", slug="glowco")
    image = f"{live_server.url}/static/shop/favicon.svg"
    products = products_from_rows(
        "title category brand price currency stock image_url description",
        {
            "red": (
                "Red velvet lipstick",
                categories["lipstick"],
                glow,
                Decimal("12.50"),
                "EUR",
                6,
                image,
                "A long-lasting matte red.",
            ),
            "pink": ("Pink lipstick", categories["lipstick"], glow, None, "", 0, "", ""),
            "polish": (
                "Nail polish",
                categories["nails"],
                glow,
                Decimal(5),
                "EUR",
                3,
                "",
                "",
            ),
        },
    )
    for n in range(3):
        shopper = get_user_model().objects.create_user(username=f"viewer{n}")
        for product in products.values():
            EventFactory(user=shopper, product=product)
    popularity_refresh()
    return {"products": products, "categories": categories}


def pages(base: str, shop: dict) -> list[tuple[str, str]]:
    red = shop["products"]["red"]
    search = reverse("shop:search")
    return [
        ("home", f"{base}/"),
        ("search", f"{base}{search}?q=lipstick"),
        ("search-all", f"{base}{search}"),
        (
            "search-filtered-empty",
            f"{base}{search}?q=lipstick&category={shop['categories']['nails'].pk}",
        ),
        ("search-nothing", f"{base}{search}?q=zzzzqqq"),
        ("product", f"{base}{red.get_absolute_url()}"),
        ("privacy", f"{base}{reverse('shop:personalization')}"),
        ("login", f"{base}{reverse('login')}"),
        ("not-found", f"{base}/no-such-page/"),
    ]


def check(browser, screenshot, size: str, name: str, found: dict) -> None:
    """Run axe on the page open now; keep what it finds under the page's name."""
    problems = axe_serious(browser)
    if problems:
        found[f"{size} {name}"] = problems
    screenshot(browser, f"a11y-{size}-{name}")


def test_the_check_finds_what_it_should(browser):
    """A page with an image without alt text and an unlabelled field fails the check
    (so a clean page above is clean, not unchecked)."""
    page = (
        "<!doctype html><html lang='en'><head><title>Bad</title></head><body><main>"
        "<h1>Bad</h1><img src='x.png'><input type='text'></main></body></html>"
    )
    browser.get("data:text/html;base64," + base64.b64encode(page.encode()).decode())
    problems = axe_serious(browser)
    assert any(line.startswith("critical image-alt") for line in problems), problems
    assert any(" label:" in line for line in problems), problems


@pytest.mark.parametrize("size", list(SIZES))
def test_every_storefront_page_has_no_serious_accessibility_violation(
    browser, shop, screenshot, size
):
    base = browser.live_server_url
    browser.set_window_size(*SIZES[size])
    found: dict[str, list[str]] = {}

    for name, url in pages(base, shop):
        browser.get(url)
        check(browser, screenshot, size, name, found)

    # The search box with its completion list open (a combobox and its listbox).
    browser.get(f"{base}/")
    box = browser.find_element(By.CSS_SELECTOR, "header input[name=q]")
    box.send_keys("lip")
    wait_for(
        browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#search-suggestions [role=option]")
    )
    check(browser, screenshot, size, "search-box-open", found)

    # The cart, empty and with a line; the order placed; the history (signed in).
    browser.get(f"{base}{reverse('shop:cart')}")
    check(browser, screenshot, size, "cart-empty", found)
    user = get_user_model().objects.create_user(username=f"ada-{size}", password="x-Pass-9")
    sign_in(browser, user)
    browser.get(f"{base}{shop['products']['red'].get_absolute_url()}")
    tap(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=add-to-cart]"))
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=cart-line]"))
    check(browser, screenshot, size, "cart", found)
    tap(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=place-order]"))
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=order-total]"))
    assert Order.objects.filter(user=user).exists()
    check(browser, screenshot, size, "order", found)
    browser.get(f"{base}{reverse('shop:orders')}")
    check(browser, screenshot, size, "orders", found)
    browser.get(f"{base}/")  # signed in, with a history
    check(browser, screenshot, size, "home-signed-in", found)

    # The 500 page is self-contained (it renders without the database or context).
    page = base64.b64encode(render_to_string("500.html").encode()).decode()
    browser.get(f"data:text/html;base64,{page}")
    check(browser, screenshot, size, "server-error", found)

    assert not found, "\n".join(
        f"{page}: {line}" for page, lines in found.items() for line in lines
    )
