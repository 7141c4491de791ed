"""API v1: the shopper's cart and orders, the storefront's (shop.storefront_cart) for the
app, through the same services (shop.orders).

A shopper here is a signed-in user, or an anonymous app device (``X-Device-Id``), whose
cart and orders join the account when it signs in with the header; anybody else gets
401. Each sees and changes only their own cart and orders; every answer is
``Cache-Control: private, no-store``. Each step records its event (source ``app``):
``add_to_cart``, ``remove_from_cart``, and ``purchase`` per order line with the price
paid.

Refusals: a product not for sale 404; more than is in stock, or an empty cart, 409
(``out_of_stock``, ``details`` naming each product short, or ``empty_cart``); a
quantity out of range 400.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from shop.api.base import (
    APP_SOURCE,
    BAD_PARAMETERS,
    MAX_ID,
    ApiView,
    V1Defaults,
    bad_request,
)
from shop.api.catalogue import THROTTLED
from shop.api.conditional import PrivateResponse
from shop.api.errors import error_body
from shop.api.examples import PRODUCT
from shop.api.me import EventCursorPagination
from shop.api.serializers import ErrorSerializer, ProductSerializer
from shop.orders import (
    MAX_LINE_QUANTITY,
    CartError,
    CartSummary,
    EmptyCart,
    OutOfStock,
    ProductUnavailable,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_summary,
    order_place,
    order_totals,
    shopper_orders,
)
from shop.shoppers import DEVICE_HEADER, Shopper, device_session_from_request, shopper_from_request

NOT_A_SHOPPER = OpenApiResponse(
    ErrorSerializer,
    description=f"Neither signed in nor an app device ({DEVICE_HEADER}): code not_authenticated.",
)
NOT_FOR_SALE = OpenApiResponse(ErrorSerializer, description="No such product for sale.")
NO_SUCH_LINE_PATH = OpenApiResponse(
    ErrorSerializer, description="The path's product id is not a whole number: no such endpoint."
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="Refused by the cart's state: code out_of_stock (details name each product "
    "short, as products.<id>) or empty_cart.",
)


class IsShopper(BasePermission):
    """A signed-in user, or the app's anonymous device (a well-formed ``X-Device-Id``)."""

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_authenticated:
            return True
        return bool(device_session_from_request(request))


# ----------------------------------------------------------------------------- serializers


class TotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)


def _totals(totals: dict) -> list[dict]:
    return [{"currency": currency, "amount": amount} for currency, amount in sorted(totals.items())]


class CartLineSerializer(serializers.Serializer):
    product = ProductSerializer()
    quantity = serializers.IntegerField()
    stock = serializers.IntegerField(source="product.stock", help_text="In stock now.")
    line_total = serializers.SerializerMethodField(help_text="Null when the price is unknown.")

    def get_line_total(self, line) -> str | None:
        price = line.product.price
        return None if price is None else f"{price * line.quantity:.2f}"


class CartSerializer(serializers.Serializer):
    lines = CartLineSerializer(many=True)
    item_count = serializers.IntegerField(help_text="The sum of the quantities.")
    totals = serializers.SerializerMethodField(
        help_text="Per currency, over the lines with a known price."
    )
    unknown_prices = serializers.BooleanField(help_text="Some line's price is unknown.")

    @extend_schema_field(TotalSerializer(many=True))
    def get_totals(self, cart: CartSummary) -> list:
        return TotalSerializer(_totals(cart.totals), many=True).data


class CartLineInSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A product id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, default=1)


class CartQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0, max_value=MAX_LINE_QUANTITY, help_text="0 removes the line."
    )


class OrderLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(
        source="product_id", allow_null=True, help_text="Null once the product is deleted."
    )
    sku = serializers.CharField()
    title = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        coerce_to_string=True,
        allow_null=True,
        help_text="The price paid; null when the product had none.",
    )
    currency = serializers.CharField()


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    placed_at = serializers.DateTimeField()
    lines = OrderLineSerializer(many=True, source="lines.all")
    totals = serializers.SerializerMethodField(
        help_text="Per currency, over the lines with a known price."
    )

    @extend_schema_field(TotalSerializer(many=True))
    def get_totals(self, order) -> list:
        return TotalSerializer(_totals(order_totals(order)), many=True).data


# ----------------------------------------------------------------------------- examples

CART = {
    "lines": [
        {"product": PRODUCT, "quantity": 2, "stock": 5, "line_total": "20.00"},
    ],
    "item_count": 2,
    "totals": [{"currency": "EUR", "amount": "20.00"}],
    "unknown_prices": False,
}
ORDER = {
    "id": 1001,
    "status": "placed",
    "placed_at": "2024-05-01T12:00:00Z",
    "lines": [
        {
            "product": 42,
            "sku": "RED-1",
            "title": "Red velvet lipstick",
            "quantity": 2,
            "unit_price": "10.00",
            "currency": "EUR",
        }
    ],
    "totals": [{"currency": "EUR", "amount": "20.00"}],
}
CART_EXAMPLE = OpenApiExample("A cart", value=CART, response_only=True)
ADD_EXAMPLE = OpenApiExample(
    "Two of a product", value={"product": 42, "quantity": 2}, request_only=True
)
QUANTITY_EXAMPLE = OpenApiExample("Three of it", value={"quantity": 3}, request_only=True)
ORDER_EXAMPLE = OpenApiExample("An order", value=ORDER, response_only=True)


# ----------------------------------------------------------------------------- views


def _shopper(request: Request) -> Shopper:
    return shopper_from_request(request)


def _cart_response(request: Request, shopper: Shopper, status_code: int = 200) -> Response:
    summary = cart_summary(shopper=shopper)
    return Response(CartSerializer(summary, context={"request": request}).data, status=status_code)


def _refused(error: CartError) -> Response:
    """A refusal of shop.orders in the API's error shape (the transaction is intact:
    the service changed nothing)."""
    if isinstance(error, ProductUnavailable):
        raise NotFound(error.message)
    if isinstance(error, OutOfStock):
        details = {f"products.{s.product_id}": [f"{s.available} in stock"] for s in error.shortages}
        return Response(error_body("out_of_stock", error.message, details), status=409)
    if isinstance(error, EmptyCart):
        return Response(error_body("empty_cart", error.message), status=409)
    raise bad_request("quantity", error.message)


class CartView(PrivateResponse, ApiView):
    permission_classes = [IsShopper]

    @extend_schema(
        summary="My cart",
        responses={200: CartSerializer, 400: BAD_PARAMETERS, 401: NOT_A_SHOPPER, 429: THROTTLED},
        examples=[CART_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        """The shopper's cart: its lines with their products, the item count and the total
        per currency at the products' current prices."""
        return _cart_response(request, _shopper(request))


class CartLinesView(PrivateResponse, ApiView):
    permission_classes = [IsShopper]

    @extend_schema(
        summary="Add to my cart",
        request=CartLineInSerializer,
        responses={
            201: CartSerializer,
            400: BAD_PARAMETERS,
            401: NOT_A_SHOPPER,
            404: NOT_FOR_SALE,
            409: CONFLICT,
            429: THROTTLED,
        },
        examples=[ADD_EXAMPLE, CART_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        """Add ``quantity`` (default 1) of a product to the cart, to its line if it is
        there already; refused beyond the stock (409) or 99 on a line. Records
        ``add_to_cart``. The answer is the whole cart."""
        serializer = CartLineInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shopper = _shopper(request)
        try:
            cart_line_add(
                shopper=shopper,
                product_id=serializer.validated_data["product"],
                quantity=serializer.validated_data["quantity"],
                source=APP_SOURCE,
            )
        except CartError as error:
            return _refused(error)
        return _cart_response(request, shopper, status.HTTP_201_CREATED)


class CartLineView(PrivateResponse, ApiView):
    permission_classes = [IsShopper]

    @extend_schema(
        summary="Change a quantity in my cart",
        request=CartQuantitySerializer,
        responses={
            200: CartSerializer,
            400: BAD_PARAMETERS,
            401: NOT_A_SHOPPER,
            404: NOT_FOR_SALE,
            409: CONFLICT,
            429: THROTTLED,
        },
        examples=[QUANTITY_EXAMPLE, CART_EXAMPLE],
    )
    def patch(self, request: Request, product_id: int) -> Response:
        """Set the quantity of this product (its id) in the cart, adding the line when it
        is not there; 0 removes it. A larger quantity is checked against the stock.
        Records ``add_to_cart`` or ``remove_from_cart`` with the difference."""
        serializer = CartQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shopper = _shopper(request)
        try:
            cart_line_set(
                shopper=shopper,
                product_id=product_id,
                quantity=serializer.validated_data["quantity"],
                source=APP_SOURCE,
            )
        except CartError as error:
            return _refused(error)
        return _cart_response(request, shopper)

    @extend_schema(
        summary="Remove from my cart",
        responses={
            200: CartSerializer,
            400: BAD_PARAMETERS,
            401: NOT_A_SHOPPER,
            404: NO_SUCH_LINE_PATH,
            429: THROTTLED,
        },
        examples=[CART_EXAMPLE],
    )
    def delete(self, request: Request, product_id: int) -> Response:
        """Take this product (its id) out of the cart; nothing happens when it is not
        there. Records ``remove_from_cart``. The answer is the cart that is left."""
        shopper = _shopper(request)
        cart_line_remove(shopper=shopper, product_id=product_id, source=APP_SOURCE)
        return _cart_response(request, shopper)


class OrderCursorPagination(EventCursorPagination):
    ordering = ("-placed_at", "-id")
    page_size = 20
    max_page_size = 100


class OrdersView(PrivateResponse, V1Defaults, generics.ListAPIView):
    """The shopper's orders (GET), and placing one (POST)."""

    permission_classes = [IsShopper]
    serializer_class = OrderSerializer
    pagination_class = OrderCursorPagination

    def get_queryset(self):
        return shopper_orders(shopper=_shopper(self.request))

    @extend_schema(
        summary="My orders",
        responses={
            200: OrderSerializer(many=True),
            400: BAD_PARAMETERS,
            401: NOT_A_SHOPPER,
            429: THROTTLED,
        },
        examples=[ORDER_EXAMPLE],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        """The shopper's orders, newest first, with their lines and the prices paid;
        never anybody else's. Cursor paginated, 20 a page by default. An app device's
        orders are those placed on it (they join the account at sign-in)."""
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Place an order",
        request=None,
        responses={
            201: OrderSerializer,
            401: NOT_A_SHOPPER,
            404: NOT_FOR_SALE,
            409: CONFLICT,
            429: THROTTLED,
        },
        examples=[ORDER_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        """Order everything in the cart at the products' current prices, and empty the
        cart. Stock is checked and taken in one transaction: when a product is short
        the answer is 409 naming it, and nothing changed. No payment is taken: the order
        is recorded as placed. Records ``purchase`` per line (quantity, price paid)."""
        try:
            order = order_place(shopper=_shopper(request), source=APP_SOURCE)
        except CartError as error:
            return _refused(error)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("cart/", CartView.as_view(), name="cart"),
    path("cart/lines/", CartLinesView.as_view(), name="cart-lines"),
    path("cart/lines/<int:product_id>/", CartLineView.as_view(), name="cart-line"),
    path("orders/", OrdersView.as_view(), name="orders"),
]
