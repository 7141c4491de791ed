"""The storefront's cart and checkout as a shopper meets them: the product page's price,
stock, description and quantity, the cart page, placing the order, the confirmation
and the history; an anonymous cart joining the account at sign-in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from shop.models import Event, EventType, Order, Product
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-9"
CART_URL = reverse("shop:cart")
ADD_URL = reverse("shop:cart-add")
CHECKOUT_URL = reverse("shop:checkout")
ORDERS_URL = reverse("shop:orders")


@pytest.fixture(autouse=True)
def _shop_default_personalizer(settings):
    settings.SHOP_PERSONALIZER = "shop.personalization.DefaultPersonalizer"


@pytest.fixture
def lipstick():
    return ProductFactory(
        title="Red lipstick",
        description="A long-lasting red.",
        price=Decimal("10.00"),
        currency="EUR",
        stock=5,
    )


@pytest.fixture
def polish():
    return ProductFactory(title="Nail polish", price=Decimal("4.50"), currency="EUR", stock=2)


def add(client, product, quantity=1):
    return client.post(ADD_URL, {"product": product.pk, "quantity": quantity})


def line_url(product):
    return reverse("shop:cart-line", args=[product.pk])


def test_the_product_page_shows_price_stock_description_and_a_quantity(client, lipstick):
    page = client.get(lipstick.get_absolute_url()).content.decode()

    assert "10.00 EUR" in page
    assert "5 in stock" in page
    assert "A long-lasting red." in page
    assert 'name="quantity"' in page and 'max="5"' in page
    assert 'data-testid="add-to-cart"' in page


def test_the_product_page_says_when_price_stock_or_description_is_unknown(client):
    product = ProductFactory(price=None, currency="", stock=0, description="")

    page = client.get(product.get_absolute_url()).content.decode()

    assert "Price on request" in page
    assert "Out of stock" in page
    assert "No description yet." in page
    assert 'data-testid="add-to-cart"' not in page


def test_an_anonymous_visitor_adds_to_the_cart_and_sees_it(client, lipstick):
    response = add(client, lipstick, 2)

    assert response.status_code == 302 and response["Location"] == CART_URL
    page = client.get(CART_URL).content.decode()
    assert "Red lipstick" in page and 'value="2"' in page
    assert "20.00 EUR" in page
    assert "Added 2 × “Red lipstick” to your cart." in page
    event = Event.objects.get(event_type=EventType.ADD_TO_CART)
    assert (event.user_id, event.value) == (None, 2.0)
    assert event.session_id == client.session.session_key


def test_more_than_the_stock_goes_back_to_the_product_with_the_reason(client, polish):
    response = add(client, polish, 3)

    assert response["Location"] == polish.get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    assert "Only 2 of “Nail polish” in stock (you asked for 3)." in page
    assert "Nail polish" not in client.get(CART_URL).content.decode().split("<h1>")[-1]


@pytest.mark.parametrize("quantity", ["x", "-1", "100", "0"])
def test_a_bad_quantity_is_refused(client, lipstick, quantity):
    response = add(client, lipstick, quantity)

    assert response["Location"] == lipstick.get_absolute_url()
    assert not Event.objects.filter(event_type=EventType.ADD_TO_CART).exists()


def test_quantities_change_and_lines_go(client, lipstick, polish):
    add(client, lipstick)
    add(client, polish)

    assert client.post(line_url(lipstick), {"quantity": 3}).status_code == 302
    assert client.post(line_url(polish), {"remove": "1"}).status_code == 302

    lines = client.get(CART_URL).content.decode().split("<table")[1]
    assert 'value="3"' in lines and "Nail polish" not in lines
    refused = client.post(line_url(lipstick), {"quantity": 9})
    assert refused.status_code == 409
    assert "Only 5 of “Red lipstick” in stock" in refused.content.decode()
    assert client.post(line_url(lipstick), {"quantity": 0}).status_code == 302
    assert 'data-testid="cart-empty"' in client.get(CART_URL).content.decode()
    removed = Event.objects.filter(event_type=EventType.REMOVE_FROM_CART)
    assert sorted(removed.values_list("product_id", "value")) == sorted(
        [(polish.pk, 1.0), (lipstick.pk, 3.0)]
    )


def test_an_anonymous_shopper_places_an_order_and_sees_its_confirmation(client, lipstick):
    add(client, lipstick, 2)

    response = client.post(CHECKOUT_URL)

    order = Order.objects.get()
    assert response["Location"] == reverse("shop:order", args=[order.pk])
    page = client.get(response["Location"]).content.decode()
    assert f"Order {order.pk}" in page and "Placed on" in page and "20.00 EUR" in page
    assert Product.objects.get(pk=lipstick.pk).stock == 3
    purchase = Event.objects.get(event_type=EventType.PURCHASE)
    assert (purchase.value, purchase.context["price"], purchase.context["order"]) == (
        2.0,
        "10.00",
        order.pk,
    )
    # Nobody else sees it, and the history needs a signed-in shopper.
    assert Client().get(response["Location"]).status_code == 404
    assert client.get(ORDERS_URL)["Location"].startswith(reverse("login"))


def test_a_short_product_is_named_at_checkout_and_the_cart_kept(client, lipstick, polish):
    add(client, lipstick)
    add(client, polish, 2)
    Product.objects.filter(pk=polish.pk).update(stock=0)

    response = client.post(CHECKOUT_URL)

    assert response.status_code == 409
    page = response.content.decode()
    assert "“Nail polish” is out of stock." in page
    assert "Only 0 in stock" in page  # the line says so too
    assert not Order.objects.exists()
    assert Product.objects.get(pk=lipstick.pk).stock == 5


def test_an_empty_cart_cannot_be_ordered(client):
    response = client.post(CHECKOUT_URL)

    assert response.status_code == 409
    assert "Your cart is empty." in response.content.decode()


def test_the_anonymous_cart_joins_the_account_at_sign_in(client, lipstick, polish):
    user = UserFactory(password=PASSWORD)
    account = Client()
    account.force_login(user)
    add(account, lipstick, 1)
    add(client, lipstick, 2)
    add(client, polish, 1)
    client.post(CHECKOUT_URL)  # an anonymous order first...
    add(client, polish, 1)  # ...then a new cart

    signed_in = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})

    assert signed_in.status_code == 302
    page = client.get(CART_URL).content.decode()
    assert "Red lipstick" in page and "Nail polish" in page
    assert 'value="1"' in page  # the lipstick: the account's 1 (the 2 were ordered)
    history = client.get(ORDERS_URL).content.decode()
    assert history.count('data-testid="order"') == 1


def test_the_history_lists_the_shoppers_orders_only(client, lipstick):
    shopper, other = UserFactory(), UserFactory()
    client.force_login(shopper)
    assert 'data-testid="no-orders"' in client.get(ORDERS_URL).content.decode()
    add(client, lipstick)
    client.post(CHECKOUT_URL)
    mine = Order.objects.get()

    history = client.get(ORDERS_URL).content.decode()

    assert f"Order {mine.pk}" in history and "10.00 EUR" in history
    stranger = Client()
    stranger.force_login(other)
    assert f"Order {mine.pk}" not in stranger.get(ORDERS_URL).content.decode()
    assert stranger.get(reverse("shop:order", args=[mine.pk])).status_code == 404


def test_the_header_tag_counts_the_items_in_the_cart(client, lipstick, polish):
    add(client, lipstick, 2)
    add(client, polish, 1)
    request = RequestFactory().get("/")
    request.user = UserFactory.build()
    request.user.pk = None
    request.session = client.session
    template = Template("{% load cart %}{% cart_items %}")

    assert template.render(Context({"request": request})) == "3"
    assert template.render(Context({})) == "0"
