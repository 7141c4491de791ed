"""The cart and a minimal checkout, for the storefront and the API alike.

A shopper's cart is their user's when signed in, else their anonymous session's (the
Django session key, or ``device:<id>`` for the app); at sign-in the anonymous cart and
orders join the account (``cart_claim``). Each step records its event through the one
ingestion service (``event_record``) once its change is committed: ``add_to_cart`` and
``remove_from_cart`` with the quantity added or taken out as ``value``, and one
``purchase`` per order line with the quantity as ``value`` and context
``{"price": unit price paid, "order": order id}`` (experiments and dashboards read the
revenue from ``context["price"]``).

Placing an order locks the cart and its products (``SELECT ... FOR UPDATE`` in product
id order, so two checkouts never deadlock), checks every line's stock and decrements
it in the same transaction: when a product is short, nothing is ordered, nothing is
decremented, the cart stays as it was and the error names the product.

There is no payment provider: an order is recorded as placed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import F, Prefetch, QuerySet, Sum
from django.dispatch import receiver
from django.http import HttpRequest

from shop.events.record import event_record
from shop.models import Cart, CartLine, EventType, Order, OrderLine, Product
from shop.parsing import LARGEST_ROW_ID
from shop.search.cache import search_cache_invalidate
from shop.shoppers import Shopper

MAX_LINE_QUANTITY = 99


class CartError(Exception):
    """A cart or checkout step refused, with a message for the shopper."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProductUnavailable(CartError):
    """No such product, or it is no longer for sale."""


class EmptyCart(CartError):
    def __init__(self):
        super().__init__("Your cart is empty.")


@dataclass(frozen=True)
class Shortage:
    product_id: int
    title: str
    wanted: int
    available: int


class OutOfStock(CartError):
    """Some lines ask for more than is in stock (``shortages`` names each)."""

    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        super().__init__(" ".join(_shortage_message(s) for s in shortages))


def _shortage_message(shortage: Shortage) -> str:
    if shortage.available == 0:
        return f"“{shortage.title}” is out of stock."
    return (
        f"Only {shortage.available} of “{shortage.title}” in stock "
        f"(you asked for {shortage.wanted})."
    )


# ----------------------------------------------------------------------------- reads


def _owner_filter(shopper: Shopper) -> dict | None:
    """Whose cart or orders: the signed-in user's, else the anonymous session's."""
    if shopper.user_id is not None:
        return {"user_id": shopper.user_id}
    if shopper.session_id:
        return {"user__isnull": True, "session_id": shopper.session_id}
    return None


@dataclass
class CartSummary:
    """A cart as shown: its lines (with their products), how many items, the total per
    currency of the lines with a known price, and whether some price is unknown."""

    lines: list[CartLine] = field(default_factory=list)
    item_count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    unknown_prices: bool = False


def cart_summary(*, shopper: Shopper) -> CartSummary:
    owner = _owner_filter(shopper)
    if owner is None:
        return CartSummary()
    lines = list(
        CartLine.objects.filter(**{f"cart__{k}": v for k, v in owner.items()})
        .select_related("product")
        .order_by("added_at", "id")
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    unknown = False
    for line in lines:
        if line.product.price is None:
            unknown = True
        else:
            totals[line.product.currency] += line.product.price * line.quantity
    return CartSummary(
        lines=lines,
        item_count=sum(line.quantity for line in lines),
        totals=dict(totals),
        unknown_prices=unknown,
    )


def cart_item_count(*, shopper: Shopper) -> int:
    """How many items (the sum of the quantities) the shopper's cart holds."""
    owner = _owner_filter(shopper)
    if owner is None:
        return 0
    counted = CartLine.objects.filter(**{f"cart__{k}": v for k, v in owner.items()}).aggregate(
        items=Sum("quantity")
    )
    return counted["items"] or 0


def shopper_orders(*, shopper: Shopper) -> QuerySet[Order]:
    """The shopper's orders, newest first, with their lines: a signed-in shopper's all,
    an anonymous session's those placed in it."""
    owner = _owner_filter(shopper)
    if owner is None:
        return Order.objects.none()
    return Order.objects.filter(**owner).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    )


def shopper_order(*, shopper: Shopper, order_id: int) -> Order | None:
    """One of the shopper's own orders, or None (another shopper's too)."""
    if not _id_in_range(order_id):
        return None
    return shopper_orders(shopper=shopper).filter(pk=order_id).first()


def order_totals(order: Order) -> dict[str, Decimal]:
    """The order's total per currency, over the lines with a known price."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in order.lines.all():
        if line.unit_price is not None:
            totals[line.currency] += line.unit_price * line.quantity
    return dict(totals)


# ----------------------------------------------------------------------------- cart


def _check_quantity(quantity: int, *, minimum: int = 1) -> None:
    if not (minimum <= quantity <= MAX_LINE_QUANTITY):
        raise CartError(f"The quantity must be from {minimum} to {MAX_LINE_QUANTITY}.")


def _id_in_range(value: int) -> bool:
    """Whether ``value`` can be a row id (a URL's digits may overflow the database's
    64-bit integers: such an id names nothing, it is not a server error)."""
    return 0 < value <= LARGEST_ROW_ID


def _product_for_sale(product_id: int) -> Product:
    product = (
        Product.objects.filter(pk=product_id, is_active=True).first()
        if _id_in_range(product_id)
        else None
    )
    if product is None:
        raise ProductUnavailable("This product is not for sale.")
    return product


def _shopper_cart(shopper: Shopper) -> Cart:
    """The shopper's cart, created when they have none (locked: a caller's transaction
    changes it alone)."""
    if shopper.user_id is not None:
        lookup = {"user_id": shopper.user_id}
    elif shopper.session_id:
        lookup = {"user": None, "session_id": shopper.session_id}
    else:
        raise CartError("There is no shopper to keep a cart for.")
    cart, _ = Cart.objects.select_for_update().get_or_create(**lookup)
    return cart


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise OutOfStock([Shortage(product.pk, product.title, quantity, product.stock)])


def cart_line_add(
    *, shopper: Shopper, product_id: int, quantity: int = 1, source: str = "web"
) -> CartLine:
    """Add ``quantity`` of a product for sale to the shopper's cart (to the line it is
    already on, if any); refused beyond the stock or ``MAX_LINE_QUANTITY`` a line.
    Records ``add_to_cart`` with the quantity added."""
    _check_quantity(quantity)
    product = _product_for_sale(product_id)
    with transaction.atomic():
        cart = _shopper_cart(shopper)
        line = CartLine.objects.select_for_update().filter(cart=cart, product=product).first()
        new_quantity = quantity + (line.quantity if line else 0)
        if new_quantity > MAX_LINE_QUANTITY:
            raise CartError(f"At most {MAX_LINE_QUANTITY} of one product in a cart.")
        _check_stock(product, new_quantity)
        if line is None:
            line = CartLine.objects.create(cart=cart, product=product, quantity=new_quantity)
        else:
            line.quantity = new_quantity
            line.save(update_fields=["quantity"])
        cart.save(update_fields=["updated_at"])
    line.product = product
    _cart_event(shopper, EventType.ADD_TO_CART, product.pk, quantity, source)
    return line


def cart_line_set(
    *, shopper: Shopper, product_id: int, quantity: int, source: str = "web"
) -> CartLine | None:
    """Set the quantity of a product in the shopper's cart (adding the line when it is
    not there; 0 removes it, and then None is returned). A larger quantity is checked
    against the stock, a smaller one never. Records ``add_to_cart`` or
    ``remove_from_cart`` with the difference."""
    _check_quantity(quantity, minimum=0)
    if quantity == 0:
        cart_line_remove(shopper=shopper, product_id=product_id, source=source)
        return None
    product = _product_for_sale(product_id)
    with transaction.atomic():
        cart = _shopper_cart(shopper)
        line = CartLine.objects.select_for_update().filter(cart=cart, product=product).first()
        before = line.quantity if line else 0
        if quantity > before:
            _check_stock(product, quantity)
        if line is None:
            line = CartLine.objects.create(cart=cart, product=product, quantity=quantity)
        elif quantity != before:
            line.quantity = quantity
            line.save(update_fields=["quantity"])
        cart.save(update_fields=["updated_at"])
    line.product = product
    if quantity > before:
        _cart_event(shopper, EventType.ADD_TO_CART, product.pk, quantity - before, source)
    elif quantity < before:
        _cart_event(shopper, EventType.REMOVE_FROM_CART, product.pk, before - quantity, source)
    return line


def cart_line_remove(*, shopper: Shopper, product_id: int, source: str = "web") -> int:
    """Take a product out of the shopper's cart; the quantity removed (0 when it was
    not there, and then nothing is recorded). Records ``remove_from_cart``."""
    owner = _owner_filter(shopper)
    if owner is None or not _id_in_range(product_id):
        return 0
    with transaction.atomic():
        line = (
            CartLine.objects.select_for_update()
            .filter(product_id=product_id, **{f"cart__{k}": v for k, v in owner.items()})
            .first()
        )
        if line is None:
            return 0
        line.delete()
    _cart_event(shopper, EventType.REMOVE_FROM_CART, product_id, line.quantity, source)
    return line.quantity


def _cart_event(shopper: Shopper, event_type: str, product_id: int, quantity: int, source: str):
    event_record(
        shopper=shopper,
        event_type=event_type,
        product_id=product_id,
        value=float(quantity),
        source=source,
    )


def cart_claim(*, user_id: int, session_id: str) -> int:
    """An anonymous session's (or app device's) cart and orders join the shopper who
    signed in on it: each line is added to the account's cart (quantities of a product
    on both add up, to ``MAX_LINE_QUANTITY``), the orders become the account's. Returns
    how many lines joined. Their events join with the session's other events
    (``shop.accounts.shopper_claim_device``), so none is recorded here."""
    if not session_id:
        return 0
    with transaction.atomic():
        Order.objects.filter(user__isnull=True, session_id=session_id).update(user_id=user_id)
        anonymous = (
            Cart.objects.select_for_update()
            .filter(user__isnull=True, session_id=session_id)
            .first()
        )
        if anonymous is None:
            return 0
        lines = list(anonymous.lines.all())
        cart = _shopper_cart(Shopper(user_id=user_id))
        existing = {line.product_id: line for line in cart.lines.select_for_update()}
        for line in lines:
            if line.product_id in existing:
                kept = existing[line.product_id]
                kept.quantity = min(kept.quantity + line.quantity, MAX_LINE_QUANTITY)
                kept.save(update_fields=["quantity"])
            else:
                CartLine.objects.create(
                    cart=cart, product_id=line.product_id, quantity=line.quantity
                )
        anonymous.delete()
    return len(lines)


@receiver(user_logged_in, dispatch_uid="shop.orders.claim_cart_on_login")
def cart_claim_on_login(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """A storefront (session) login: the anonymous session's cart and orders join the
    shopper. Django gives the session a new key at login; the key the browser came
    with is still in the request's cookie (as ``shop.accounts`` reads it)."""
    if request is None or not user.pk:
        return
    previous = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if previous and previous != getattr(request.session, "session_key", None):
        cart_claim(user_id=user.pk, session_id=previous)


# ----------------------------------------------------------------------------- checkout


def order_place(*, shopper: Shopper, source: str = "web") -> Order:
    """Place an order of everything in the shopper's cart, at the products' current
    prices, and empty the cart. Raises EmptyCart, ProductUnavailable (a product no
    longer for sale, named) or OutOfStock (naming each product that is short); then
    nothing changed. Records one ``purchase`` per line."""
    owner = _owner_filter(shopper)
    if owner is None:
        raise EmptyCart()
    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(**owner).first()
        lines = list(cart.lines.order_by("product_id")) if cart else []
        if not lines:
            raise EmptyCart()
        products = {
            product.pk: product
            for product in Product.objects.select_for_update()
            .filter(pk__in=[line.product_id for line in lines])
            .order_by("pk")
        }
        gone = [
            products[line.product_id] for line in lines if not products[line.product_id].is_active
        ]
        if gone:
            titles = ", ".join(f"“{product.title}”" for product in gone)
            raise ProductUnavailable(f"No longer for sale: {titles}. Remove it to order the rest.")
        shortages = [
            Shortage(
                line.product_id,
                products[line.product_id].title,
                line.quantity,
                products[line.product_id].stock,
            )
            for line in lines
            if line.quantity > products[line.product_id].stock
        ]
        if shortages:
            raise OutOfStock(shortages)
        order = Order.objects.create(user_id=shopper.user_id, session_id=shopper.session_id[:64])
        order_lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    product_id=line.product_id,
                    sku=products[line.product_id].sku,
                    title=products[line.product_id].title[:500],
                    quantity=line.quantity,
                    unit_price=products[line.product_id].price,
                    currency=products[line.product_id].currency
                    if products[line.product_id].price is not None
                    else "",
                )
                for line in sorted(lines, key=lambda line: (line.added_at, line.pk))
            ]
        )
        for line in lines:
            # Conditional too: where the database has no row locks (SQLite), a checkout
            # that committed since the check above makes this update match nothing.
            taken = Product.objects.filter(pk=line.product_id, stock__gte=line.quantity).update(
                stock=F("stock") - line.quantity
            )
            if not taken:
                product = products[line.product_id]
                stock = Product.objects.filter(pk=product.pk).values_list("stock", flat=True)[0]
                raise OutOfStock([Shortage(product.pk, product.title, line.quantity, stock)])
        cart.lines.all().delete()
        if any(products[line.product_id].stock == line.quantity for line in lines):
            # A product sold out: searches filtering on stock must not keep showing it.
            transaction.on_commit(search_cache_invalidate, robust=True)
    for line in order_lines:
        context = {"order": order.pk}
        if line.unit_price is not None:
            context["price"] = str(line.unit_price)
            context["currency"] = line.currency
        event_record(
            shopper=shopper,
            event_type=EventType.PURCHASE,
            product_id=line.product_id,
            value=float(line.quantity),
            context=context,
            source=source,
        )
    return Order.objects.prefetch_related("lines").get(pk=order.pk)
