"""Carts and orders: a shopper's cart (a signed-in user's, or an anonymous session's or
app device's until they sign in) and the orders placed from it.

There is no payment provider: an order is recorded as placed, with each line's unit
price as it was paid (the product's price at that moment, unknown when the catalogue
has none) and a copy of the product's title and SKU, so that the history reads the same
after the catalogue changes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

__all__ = ["Cart", "CartLine", "Order", "OrderLine", "OrderStatus"]

# Either a user or a session/device key, never both, never neither.
_ONE_OWNER = (Q(user__isnull=False) & Q(session_id="")) | (Q(user__isnull=True) & ~Q(session_id=""))
_ANY_OWNER = Q(user__isnull=False) | ~Q(session_id="")


class Cart(models.Model):
    """One per shopper: a signed-in user's, or an anonymous session's (the Django session
    key, or ``device:<id>`` for the app), joined to the account at sign-in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="carts",
        on_delete=models.CASCADE,
    )
    session_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=_ONE_OWNER, name="cart_one_owner"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="cart_unique_user"
            ),
            models.UniqueConstraint(
                fields=["session_id"], condition=~Q(session_id=""), name="cart_unique_session"
            ),
        ]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else f"session {self.session_id[:8]}"
        return f"cart of {owner}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey("shop.Product", related_name="cart_lines", on_delete=models.CASCADE)
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cartline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cartline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "placed"


class Order(models.Model):
    """An order as placed: by a signed-in user, or by an anonymous session (which joins
    the account when that session signs in)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="orders",
        on_delete=models.CASCADE,
    )
    session_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    placed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            # A signed-in shopper's order keeps the session it was placed in.
            models.CheckConstraint(condition=_ANY_OWNER, name="order_has_owner"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OrderStatus]), name="order_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "-placed_at"],
                name="order_user_time_idx",
                condition=Q(user__isnull=False),
            ),
            models.Index(
                fields=["session_id"], name="order_session_idx", condition=~Q(session_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey(
        "shop.Product",
        null=True,
        related_name="order_lines",
        on_delete=models.SET_NULL,
    )
    sku = models.CharField("SKU", max_length=64)
    title = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField()
    # Empty together when the product had no price (the catalogue's "price on request").
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True, currency="")
                | Q(unit_price__isnull=False, unit_price__gte=0),
                name="orderline_price_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def line_total(self):
        return None if self.unit_price is None else self.unit_price * self.quantity
