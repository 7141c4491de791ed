"""API v1's cart and orders: the storefront's steps for the app, each shopper (a signed-in
user or an anonymous device) with their own cart, events recorded with source "app",
refusals in the API's error shape."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from shop.models import Event, EventType, Order, Product
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

CART_URL = reverse("v1:cart")
LINES_URL = reverse("v1:cart-lines")
ORDERS_URL = reverse("v1:orders")


def line_url(product):
    return reverse("v1:cart-line", args=[product.pk])


def signed_in(user=None) -> Client:
    client = Client()
    token = RefreshToken.for_user(user or UserFactory()).access_token
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def device(device_id="device-0001") -> Client:
    client = Client()
    client.defaults["HTTP_X_DEVICE_ID"] = device_id
    return client


@pytest.fixture
def lipstick():
    return ProductFactory(title="Red lipstick", price=Decimal("10.00"), currency="EUR", stock=5)


@pytest.fixture
def polish():
    return ProductFactory(title="Nail polish", price=Decimal("4.50"), currency="EUR", stock=2)


def post(client, url, body):
    return client.post(url, data=body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=body, content_type="application/json")


def test_nobody_but_a_shopper_or_a_device_has_a_cart():
    anonymous = Client()

    for response in (
        anonymous.get(CART_URL),
        anonymous.get(ORDERS_URL),
        anonymous.post(ORDERS_URL),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert device("bad id!").get(CART_URL).status_code == 400


def test_adding_changing_and_removing_answer_the_cart(lipstick, polish):
    client = signed_in()

    added = post(client, LINES_URL, {"product": lipstick.pk, "quantity": 2})
    post(client, LINES_URL, {"product": polish.pk})
    changed = patch(client, line_url(lipstick), {"quantity": 3})
    removed = client.delete(line_url(polish))

    assert added.status_code == 201
    assert added.json()["item_count"] == 2
    assert added.json()["lines"][0]["product"]["sku"] == lipstick.sku
    assert added["Cache-Control"] == "private, no-store"
    assert changed.json()["totals"] == [{"currency": "EUR", "amount": "34.50"}]
    cart = removed.json()
    assert [(line["product"]["id"], line["quantity"]) for line in cart["lines"]] == [
        (lipstick.pk, 3)
    ]
    assert cart["lines"][0]["line_total"] == "30.00" and cart["unknown_prices"] is False
    assert client.get(CART_URL).json() == cart
    recorded = Event.objects.order_by("id").values_list("event_type", "value", "source")
    assert list(recorded) == [
        (EventType.ADD_TO_CART, 2.0, "app"),
        (EventType.ADD_TO_CART, 1.0, "app"),
        (EventType.ADD_TO_CART, 1.0, "app"),
        (EventType.REMOVE_FROM_CART, 1.0, "app"),
    ]


def test_each_shopper_and_device_has_their_own_cart(lipstick):
    owner, other = signed_in(), signed_in()
    post(owner, LINES_URL, {"product": lipstick.pk})
    post(device(), LINES_URL, {"product": lipstick.pk, "quantity": 2})

    assert other.get(CART_URL).json()["lines"] == []
    assert device().get(CART_URL).json()["item_count"] == 2
    assert device("device-0002").get(CART_URL).json()["item_count"] == 0
    assert other.delete(line_url(lipstick)).status_code == 200  # their own cart: nothing
    assert owner.get(CART_URL).json()["item_count"] == 1


def test_refusals_say_why(lipstick, polish):
    client = signed_in()
    gone = ProductFactory(is_active=False)

    assert post(client, LINES_URL, {"product": gone.pk}).status_code == 404
    too_many = post(client, LINES_URL, {"product": polish.pk, "quantity": 3})
    assert too_many.status_code == 409
    assert too_many.json() == {
        "code": "out_of_stock",
        "message": "Only 2 of “Nail polish” in stock (you asked for 3).",
        "details": {f"products.{polish.pk}": ["2 in stock"]},
    }
    invalid = post(client, LINES_URL, {"product": lipstick.pk, "quantity": 0})
    assert invalid.status_code == 400 and "quantity" in invalid.json()["details"]
    assert patch(client, line_url(lipstick), {"quantity": 100}).status_code == 400
    empty = client.post(ORDERS_URL)
    assert (empty.status_code, empty.json()["code"]) == (409, "empty_cart")


def test_placing_an_order_records_the_purchases_and_lists_it(lipstick, polish):
    client = signed_in()
    post(client, LINES_URL, {"product": lipstick.pk, "quantity": 2})
    post(client, LINES_URL, {"product": polish.pk, "quantity": 1})

    placed = client.post(ORDERS_URL)

    assert placed.status_code == 201
    order = placed.json()
    assert order["status"] == "placed"
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        (lipstick.sku, 2, "10.00"),
        (polish.sku, 1, "4.50"),
    ]
    assert order["totals"] == [{"currency": "EUR", "amount": "24.50"}]
    assert client.get(CART_URL).json()["lines"] == []
    listed = client.get(ORDERS_URL).json()
    assert [o["id"] for o in listed["results"]] == [order["id"]]
    assert signed_in().get(ORDERS_URL).json()["results"] == []
    purchases = Event.objects.filter(event_type=EventType.PURCHASE).order_by("id")
    assert [(e.value, e.context["price"], e.context["order"], e.source) for e in purchases] == [
        (2.0, "10.00", order["id"], "app"),
        (1.0, "4.50", order["id"], "app"),
    ]


def test_a_short_product_fails_the_order_and_keeps_everything(lipstick, polish):
    client = signed_in()
    post(client, LINES_URL, {"product": lipstick.pk, "quantity": 1})
    post(client, LINES_URL, {"product": polish.pk, "quantity": 2})
    Product.objects.filter(pk=polish.pk).update(stock=1)

    refused = client.post(ORDERS_URL)

    assert refused.status_code == 409
    assert refused.json()["details"] == {f"products.{polish.pk}": ["1 in stock"]}
    assert "Nail polish" in refused.json()["message"]
    assert not Order.objects.exists()
    assert client.get(CART_URL).json()["item_count"] == 3
    assert Product.objects.get(pk=lipstick.pk).stock == 5


@pytest.mark.parametrize("how", ["sign-in", "sign-up"])
def test_a_devices_cart_joins_the_account_it_signs_in_to(lipstick, how):
    app = device("device-join-01")
    assert post(app, LINES_URL, {"product": lipstick.pk, "quantity": 2}).status_code == 201
    if how == "sign-in":
        UserFactory(username="ada", password="Correct-Horse-9")
        answer = post(
            app, reverse("v1:auth-token"), {"username": "ada", "password": "Correct-Horse-9"}
        )
    else:
        answer = post(
            app,
            reverse("v1:auth-sign-up"),
            {"username": "ada", "password": "Correct-Horse-9", "email": "ada@example.com"},
        )
    assert answer.status_code in (200, 201), answer.content
    account = Client()
    account.defaults["HTTP_AUTHORIZATION"] = f"Bearer {answer.json()['access']}"
    lines = account.get(CART_URL).json()["lines"]
    assert [(line["product"]["id"], line["quantity"]) for line in lines] == [(lipstick.pk, 2)]
