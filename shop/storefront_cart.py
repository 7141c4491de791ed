"""Storefront pages of the cart and checkout: add to cart (from the product page), the
cart (change quantities, remove), place the order, the order history and one order.
Thin: parse the form, call shop.orders, redirect or render.

Anonymous visitors have a cart in their session (created on their first add); it joins
their account when they sign in. The history needs a signed-in shopper; an anonymous
shopper sees the orders placed in their session (the confirmation after placing one).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from shop.orders import (
    MAX_LINE_QUANTITY,
    CartError,
    cart_line_add,
    cart_line_remove,
    cart_line_set,
    cart_summary,
    order_place,
    order_totals,
    shopper_order,
    shopper_orders,
)
from shop.shoppers import shopper_from_request

ORDERS_SHOWN = 50


def _quantity(request: HttpRequest, *, default: int) -> int | None:
    raw = request.POST.get("quantity", "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        return None
    return int(raw)


def _product_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else None


def _cart_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    summary = cart_summary(shopper=shopper_from_request(request))
    return render(
        request,
        "shop/cart.html",
        {
            "cart": summary,
            "totals": sorted(summary.totals.items()),
            "error": error,
            "max_quantity": MAX_LINE_QUANTITY,
        },
        status=status,
    )


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    return _cart_page(request)


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add ``quantity`` (default 1) of ``product`` to the cart; back to the cart page, or
    to the product page with the reason when refused."""
    product_id = _product_id(request.POST.get("product", ""))
    quantity = _quantity(request, default=1)
    if product_id is None:
        raise Http404("No such product.")
    shopper = shopper_from_request(request, create_session=True)
    try:
        if quantity is None:
            raise CartError(f"The quantity must be from 1 to {MAX_LINE_QUANTITY}.")
        line = cart_line_add(shopper=shopper, product_id=product_id, quantity=quantity)
    except CartError as error:
        messages.error(request, error.message)
        return redirect(reverse("shop:product", args=[product_id]))
    messages.success(request, f"Added {quantity} × “{line.product.title}” to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_line(request: HttpRequest, product_id: int) -> HttpResponse:
    """Change a line's quantity (``quantity``; 0 removes it), or remove it (``remove``)."""
    shopper = shopper_from_request(request)
    try:
        if "remove" in request.POST:
            removed = cart_line_remove(shopper=shopper, product_id=product_id)
            if removed:
                messages.success(request, "Removed from your cart.")
        else:
            quantity = _quantity(request, default=-1)
            if quantity is None or quantity < 0:
                raise CartError(f"The quantity must be from 0 to {MAX_LINE_QUANTITY}.")
            cart_line_set(shopper=shopper, product_id=product_id, quantity=quantity)
    except CartError as error:
        return _cart_page(request, error=error.message, status=409)
    return redirect("shop:cart")


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """Place the order of the whole cart; its confirmation page, or the cart with the
    reason (the product that is short) when it cannot be placed."""
    try:
        order = order_place(shopper=shopper_from_request(request))
    except CartError as error:
        return _cart_page(request, error=error.message, status=409)
    return redirect("shop:order", pk=order.pk)


@require_GET
@login_required
def orders(request: HttpRequest) -> HttpResponse:
    shown = list(shopper_orders(shopper=shopper_from_request(request))[:ORDERS_SHOWN])
    return render(
        request,
        "shop/orders.html",
        {"orders": [(order, sorted(order_totals(order).items())) for order in shown]},
    )


@require_GET
def order(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the shopper's own orders (any other is a 404); just placed, it says so."""
    found = shopper_order(shopper=shopper_from_request(request), order_id=pk)
    if found is None:
        raise Http404("No such order of yours.")
    return render(
        request,
        "shop/order.html",
        {"order": found, "totals": sorted(order_totals(found).items())},
    )
