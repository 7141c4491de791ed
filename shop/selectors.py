"""Read-side queries of the shop: trending, newest, co-occurrence, shopper history, the
category tree."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Count, Max

from shop.caching import cache_get, cache_set
from shop.models import Category, Event, EventType, Product
from shop.shoppers import Shopper

# How much each kind of interaction says about interest in a product.
EVENT_WEIGHTS = {
    EventType.VIEW: 1,
    EventType.CLICK: 1,
    EventType.AD_CLICK: 1,
    EventType.RATING: 2,
    EventType.ADD_TO_CART: 3,
    EventType.PURCHASE: 5,
}
TRENDING_CACHE_SECONDS = 300
# Co-occurrence looks at the most recent shoppers of a product only, to bound the work.
CO_OCCURRENCE_SHOPPERS = 500


def trending_products(*, limit: int) -> list[tuple[int, float]]:
    """(product id, trending figure) of the active products popular right now, the most
    first: only products enough distinct shoppers interacted with lately (the figures are
    recomputed from the event log by shop.popularity). Empty for a shop without recent
    traffic: nothing is called popular on one visitor's say. Cached for 5 minutes."""
    key = f"shop:trending:{limit}"
    cached = cache_get(key)
    if cached is not None:
        return cached
    rows = list(
        Product.objects.filter(is_active=True, trending__gt=0)
        .order_by("-trending", "pk")
        .values_list("pk", "trending")[:limit]
    )
    cache_set(key, rows, TRENDING_CACHE_SECONDS)
    return rows


def newest_products(*, limit: int, excluding: Collection[int] = ()) -> list[int]:
    """Ids of the newest active products not excluded."""
    rows = (
        Product.objects.filter(is_active=True)
        .exclude(pk__in=list(excluding))
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    return list(rows)


def shopper_events(*, shopper: Shopper):
    """The shopper's own events (user, else anonymous session), newest first."""
    if shopper.user_id is not None:
        qs = Event.objects.filter(user_id=shopper.user_id)
    elif shopper.session_id:
        qs = Event.objects.filter(session_id=shopper.session_id, user__isnull=True)
    else:
        return Event.objects.none()
    return qs.order_by("-occurred_at", "-id")


def shopper_purchased_product_ids(*, shopper: Shopper) -> set[int]:
    return set(
        shopper_events(shopper=shopper)
        .filter(event_type=EventType.PURCHASE)
        .values_list("product_id", flat=True)[:1000]
    )


def shopper_recent_product_ids(*, shopper: Shopper, limit: int = 50) -> list[int]:
    """Distinct products the shopper interacted with, most recent first."""
    seen: dict[int, None] = {}
    for pid in (
        shopper_events(shopper=shopper)
        .filter(product__isnull=False)
        .values_list("product_id", flat=True)[: limit * 4]
    ):
        seen.setdefault(pid, None)
        if len(seen) >= limit:
            break
    return list(seen)


def co_occurring_products(*, product_id: int, limit: int) -> list[tuple[int, int]]:
    """Active products that the latest shoppers of ``product_id`` also interacted with,
    by the number of such shoppers."""
    shoppers = list(
        Event.objects.filter(product_id=product_id, user__isnull=False)
        .order_by("-occurred_at")
        .values_list("user_id", flat=True)[: CO_OCCURRENCE_SHOPPERS * 2]
    )
    user_ids = list(dict.fromkeys(shoppers))[:CO_OCCURRENCE_SHOPPERS]
    if not user_ids:
        return []
    return list(
        Event.objects.filter(user_id__in=user_ids, product__isnull=False, product__is_active=True)
        .exclude(product_id=product_id)
        .values("product")
        .annotate(n=Count("user", distinct=True))
        .order_by("-n", "product")
        .values_list("product", "n")[:limit]
    )


def popular_in_same_category(*, product_id: int, limit: int) -> list[tuple[int, float, str]]:
    product = Product.objects.select_related("category").filter(pk=product_id).first()
    if product is None or product.category_id is None:
        return []
    return [
        (pid, pop, product.category.name)
        for pid, pop in Product.objects.filter(category_id=product.category_id, is_active=True)
        .exclude(pk=product_id)
        .order_by("-popularity", "pk")
        .values_list("pk", "popularity")[:limit]
    ]


def products_in_order(*, product_ids: list[int]) -> list[Product]:
    """Products by id, in the given order, with category and brand (one query)."""
    by_id = Product.objects.select_related("category", "brand").in_bulk(product_ids)
    return [by_id[pid] for pid in product_ids if pid in by_id]


def shopper_recently_viewed_product_ids(*, shopper: Shopper, limit: int) -> list[int]:
    """The shopper's latest distinct viewed products that are still active, most recently
    viewed first (one grouped query over the shopper's view events)."""
    return list(
        shopper_events(shopper=shopper)
        .filter(event_type=EventType.VIEW, product__is_active=True)
        .order_by()
        .values("product_id")
        .annotate(last_viewed=Max("occurred_at"), last_id=Max("id"))
        .order_by("-last_viewed", "-last_id")
        .values_list("product_id", flat=True)[:limit]
    )


@dataclass
class CategoryNode:
    """A category of the tree with its children; ``product_count`` counts the active
    products in it and in every category below it."""

    id: int
    name: str
    slug: str
    path: str
    product_count: int = 0
    children: list[CategoryNode] = field(default_factory=list)


def category_tree_with_counts() -> list[CategoryNode]:
    """The whole category tree (roots first, each level by name) with active product
    counts rolled up to the ancestors; two queries whatever the tree's size."""
    rows = list(
        Category.objects.order_by("depth", "name", "pk").values_list(
            "pk", "name", "slug", "path", "parent_id"
        )
    )
    own_counts = dict(
        Product.objects.filter(is_active=True, category__isnull=False)
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )
    nodes = {pk: CategoryNode(pk, name, slug, path) for pk, name, slug, path, _ in rows}
    parents = {pk: parent_id for pk, _, _, _, parent_id in rows}
    roots = []
    for pk, *_, parent_id in rows:  # parents come before their children (by depth)
        if parent_id is None or parent_id not in nodes:
            roots.append(nodes[pk])
        else:
            nodes[parent_id].children.append(nodes[pk])
    for pk, count in own_counts.items():
        seen = set()
        while pk is not None and pk in nodes and pk not in seen:  # guard against cycles
            seen.add(pk)
            nodes[pk].product_count += count
            pk = parents[pk]
    return roots


__all__ = [
    "EVENT_WEIGHTS",
    "CategoryNode",
    "category_tree_with_counts",
    "co_occurring_products",
    "newest_products",
    "popular_in_same_category",
    "products_in_order",
    "shopper_events",
    "shopper_purchased_product_ids",
    "shopper_recent_product_ids",
    "shopper_recently_viewed_product_ids",
    "trending_products",
]
