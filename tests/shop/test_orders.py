"""The cart and checkout service (shop.orders): each step's event, stock taken atomically
(a short product named, nothing lost), the anonymous cart joining the account."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection

from shop.experiments.outcomes import purchase_revenue
from shop.models import Cart, CartLine, Event, EventType, Order, Product
from shop.orders import (
    MAX_LINE_QUANTITY,
    CartError,
    EmptyCart,
    OutOfStock,
    ProductUnavailable,
    cart_claim,
    cart_item_count,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_summary,
    order_place,
    order_totals,
    shopper_order,
    shopper_orders,
)
from shop.shoppers import Shopper
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lipstick():
    return ProductFactory(title="Red lipstick", price=Decimal("10.00"), currency="EUR", stock=5)


@pytest.fixture
def polish():
    return ProductFactory(title="Nail polish", price=Decimal("4.50"), currency="EUR", stock=2)


@pytest.fixture
def shopper():
    return Shopper(user_id=UserFactory().pk)


def events(event_type):
    return list(
        Event.objects.filter(event_type=event_type)
        .order_by("id")
        .values_list("product_id", "value", "context")
    )


def test_adding_to_the_cart_records_the_quantity_added(shopper, lipstick):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=2)
    line = cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=1)

    assert line.quantity == 3
    assert CartLine.objects.get().quantity == 3
    assert events(EventType.ADD_TO_CART) == [(lipstick.pk, 2.0, {}), (lipstick.pk, 1.0, {})]
    assert cart_item_count(shopper=shopper) == 3


def test_more_than_is_in_stock_is_refused_naming_the_product(shopper, polish):
    cart_line_add(shopper=shopper, product_id=polish.pk, quantity=2)

    with pytest.raises(OutOfStock, match="“Nail polish” is out of stock|Only 2 of “Nail polish”"):
        cart_line_add(shopper=shopper, product_id=polish.pk, quantity=1)
    assert CartLine.objects.get().quantity == 2
    assert len(events(EventType.ADD_TO_CART)) == 1


def test_a_product_not_for_sale_cannot_be_added(shopper):
    gone = ProductFactory(is_active=False)

    with pytest.raises(ProductUnavailable):
        cart_line_add(shopper=shopper, product_id=gone.pk)
    with pytest.raises(ProductUnavailable):
        cart_line_add(shopper=shopper, product_id=gone.pk + 1000)
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, MAX_LINE_QUANTITY + 1])
def test_a_quantity_out_of_range_is_refused(shopper, lipstick, quantity):
    with pytest.raises(CartError, match="quantity"):
        cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=quantity)


def test_changing_a_quantity_records_the_difference(shopper, lipstick):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=1)

    cart_line_set(shopper=shopper, product_id=lipstick.pk, quantity=4)
    cart_line_set(shopper=shopper, product_id=lipstick.pk, quantity=3)
    cart_line_set(shopper=shopper, product_id=lipstick.pk, quantity=3)  # no change, no event

    assert CartLine.objects.get().quantity == 3
    assert [v for _, v, _ in events(EventType.ADD_TO_CART)] == [1.0, 3.0]
    assert events(EventType.REMOVE_FROM_CART) == [(lipstick.pk, 1.0, {})]


def test_a_smaller_quantity_is_allowed_when_the_stock_fell_below_it(shopper, lipstick):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=5)
    Product.objects.filter(pk=lipstick.pk).update(stock=1)

    cart_line_set(shopper=shopper, product_id=lipstick.pk, quantity=4)
    with pytest.raises(OutOfStock):
        cart_line_set(shopper=shopper, product_id=lipstick.pk, quantity=5)
    assert CartLine.objects.get().quantity == 4


def test_removing_records_the_quantity_removed_and_zero_removes(shopper, lipstick, polish):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=2)
    cart_line_add(shopper=shopper, product_id=polish.pk, quantity=1)

    assert cart_line_remove(shopper=shopper, product_id=lipstick.pk) == 2
    assert cart_line_set(shopper=shopper, product_id=polish.pk, quantity=0) is None
    assert cart_line_remove(shopper=shopper, product_id=polish.pk) == 0  # gone: no event

    assert not CartLine.objects.exists()
    assert events(EventType.REMOVE_FROM_CART) == [(lipstick.pk, 2.0, {}), (polish.pk, 1.0, {})]


def test_the_summary_totals_known_prices_per_currency(shopper, lipstick, polish):
    unknown = ProductFactory(price=None, currency="", stock=3)
    for product, quantity in ((lipstick, 2), (polish, 2), (unknown, 1)):
        cart_line_add(shopper=shopper, product_id=product.pk, quantity=quantity)

    summary = cart_summary(shopper=shopper)

    assert [line.product_id for line in summary.lines] == [lipstick.pk, polish.pk, unknown.pk]
    assert summary.item_count == 5
    assert summary.totals == {"EUR": Decimal("29.00")}
    assert summary.unknown_prices


def test_placing_an_order_takes_the_stock_and_records_each_purchase(shopper, lipstick, polish):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=2)
    cart_line_add(shopper=shopper, product_id=polish.pk, quantity=2)

    order = order_place(shopper=shopper)

    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines.all()] == [
        (lipstick.pk, 2, Decimal("10.00")),
        (polish.pk, 2, Decimal("4.50")),
    ]
    assert order_totals(order) == {"EUR": Decimal("29.00")}
    assert dict(Product.objects.values_list("pk", "stock")) == {lipstick.pk: 3, polish.pk: 0}
    assert cart_summary(shopper=shopper).lines == []
    purchases = events(EventType.PURCHASE)
    assert purchases == [
        (lipstick.pk, 2.0, {"order": order.pk, "price": "10.00", "currency": "EUR"}),
        (polish.pk, 2.0, {"order": order.pk, "price": "4.50", "currency": "EUR"}),
    ]
    # The revenue experiments and dashboards count is the price paid, not today's.
    Product.objects.update(price=Decimal("99.00"))
    revenue = sum(
        purchase_revenue(value=value, context=context, product_price=Decimal("99.00"))
        for _, value, context in purchases
    )
    assert revenue == Decimal("29.00")


def test_a_short_product_is_named_and_nothing_is_lost(shopper, lipstick, polish):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=2)
    cart_line_add(shopper=shopper, product_id=polish.pk, quantity=2)
    Product.objects.filter(pk=polish.pk).update(stock=1)  # another shopper bought one

    with pytest.raises(OutOfStock) as refused:
        order_place(shopper=shopper)

    assert str(refused.value) == "Only 1 of “Nail polish” in stock (you asked for 2)."
    assert [s.product_id for s in refused.value.shortages] == [polish.pk]
    assert not Order.objects.exists()
    assert dict(Product.objects.values_list("pk", "stock")) == {lipstick.pk: 5, polish.pk: 1}
    assert cart_item_count(shopper=shopper) == 4
    assert events(EventType.PURCHASE) == []


def test_a_product_withdrawn_from_sale_is_named(shopper, lipstick):
    cart_line_add(shopper=shopper, product_id=lipstick.pk, quantity=1)
    Product.objects.filter(pk=lipstick.pk).update(is_active=False)

    with pytest.raises(ProductUnavailable, match="Red lipstick"):
        order_place(shopper=shopper)
    assert not Order.objects.exists()


def test_an_empty_cart_cannot_be_ordered(shopper):
    with pytest.raises(EmptyCart):
        order_place(shopper=shopper)
    with pytest.raises(EmptyCart):
        order_place(shopper=Shopper())


def test_a_product_without_a_price_is_ordered_at_a_price_to_confirm(shopper):
    unknown = ProductFactory(price=None, currency="", stock=3)
    cart_line_add(shopper=shopper, product_id=unknown.pk, quantity=1)

    order = order_place(shopper=shopper)

    line = order.lines.get()
    assert (line.unit_price, line.currency) == (None, "")
    assert order_totals(order) == {}
    assert events(EventType.PURCHASE) == [(unknown.pk, 1.0, {"order": order.pk})]


def test_shoppers_see_only_their_own_orders(shopper, lipstick):
    cart_line_add(shopper=shopper, product_id=lipstick.pk)
    order = order_place(shopper=shopper)
    other = Shopper(user_id=UserFactory().pk)
    anonymous = Shopper(session_id="s" * 32)

    assert list(shopper_orders(shopper=shopper)) == [order]
    assert shopper_order(shopper=shopper, order_id=order.pk) == order
    for stranger in (other, anonymous, Shopper()):
        assert list(shopper_orders(shopper=stranger)) == []
        assert shopper_order(shopper=stranger, order_id=order.pk) is None


def test_the_anonymous_cart_and_orders_join_the_account(lipstick, polish):
    user = UserFactory()
    session = Shopper(session_id="anon-session-key")
    account = Shopper(user_id=user.pk)
    cart_line_add(shopper=account, product_id=lipstick.pk, quantity=1)
    cart_line_add(shopper=session, product_id=polish.pk, quantity=1)
    order = order_place(shopper=session)
    cart_line_add(shopper=session, product_id=lipstick.pk, quantity=2)
    cart_line_add(shopper=session, product_id=polish.pk, quantity=1)

    assert cart_claim(user_id=user.pk, session_id="anon-session-key") == 2

    assert {line.product_id: line.quantity for line in cart_summary(shopper=account).lines} == {
        lipstick.pk: 3,
        polish.pk: 1,
    }
    assert Cart.objects.count() == 1
    assert list(shopper_orders(shopper=account)) == [order]
    assert cart_summary(shopper=session).lines == []
    assert cart_claim(user_id=user.pk, session_id="anon-session-key") == 0


@pytest.mark.django_db(transaction=True)
def test_two_checkouts_for_the_last_unit_sell_it_once():
    last = ProductFactory(title="Last one", stock=1)
    shoppers = [Shopper(user_id=UserFactory().pk) for _ in range(2)]
    for shopper in shoppers:
        cart_line_add(shopper=shopper, product_id=last.pk)
    outcomes: list = []
    start = threading.Barrier(2)

    def checkout(shopper):
        try:
            start.wait()
            outcomes.append(order_place(shopper=shopper))
        except (OutOfStock, OperationalError) as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(s,)) for s in shoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Postgres locks the product's row, so the second checkout waits and finds it gone;
    # SQLite has no row locks and refuses the second writer while the first writes.
    loser = (
        "OutOfStock" if connection.vendor == "postgresql" else ("OutOfStock", "OperationalError")
    )
    names = [type(outcome).__name__ for outcome in outcomes]
    assert len(names) == 2 and names.count("Order") == 1
    assert next(name for name in names if name != "Order") in loser
    assert Product.objects.get(pk=last.pk).stock == 0
    assert Order.objects.count() == 1
    assert Event.objects.filter(event_type=EventType.PURCHASE).count() == 1
