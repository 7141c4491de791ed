"""The cart in templates: ``{% cart_items %}`` (how many items the shopper's cart
holds, for the header's link) and ``product|cart_quantity_limit`` (the most of it one
cart line may hold now)."""

from __future__ import annotations

from django import template

from shop.models import Product
from shop.orders import MAX_LINE_QUANTITY, cart_item_count
from shop.shoppers import InvalidDeviceId, shopper_from_request

register = template.Library()


@register.simple_tag(takes_context=True)
def cart_items(context) -> int:
    """The number of items in the cart of the request's shopper (0 without a request,
    or for a visitor who has no session yet)."""
    request = context.get("request")
    if request is None:
        return 0
    try:
        shopper = shopper_from_request(request)
    except InvalidDeviceId:  # a page must not fail on a malformed app header
        return 0
    return cart_item_count(shopper=shopper)


@register.filter
def cart_quantity_limit(product: Product) -> int:
    return max(0, min(product.stock, MAX_LINE_QUANTITY))
