"""Recommendations for a shopper, optionally within some categories.

The personalizer's interface has no category (``recommend(shopper, limit, exclude)``,
shop.personalization), so a category filter is applied here: ask the personalizer for
``CATEGORY_OVERFETCH`` times as many products (at most ``MAX_ASKED``), keep those in the
categories, and when that leaves fewer than asked for, fill up with the categories' most
popular active products (reason "Popular in <category>"). A shopper whose personal
favourites lie elsewhere therefore gets popular products of the category rather than
personal ones: the answer's reasons say which is which.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from shop.models import Product
from shop.personalization import ScoredItem, get_personalizer
from shop.selectors import shopper_purchased_product_ids
from shop.shoppers import Shopper

CATEGORY_OVERFETCH = 5
MAX_ASKED = 250


def recommendations_for_shopper(
    *,
    shopper: Shopper,
    limit: int,
    exclude: Sequence[int] = (),
    category_ids: Collection[int] = (),
) -> list[ScoredItem]:
    """Up to ``limit`` recommendations, best first, none of ``exclude`` (even if the
    plugged-in personalizer ignores it); with ``category_ids`` (already expanded to
    their subcategories) only products in those categories."""
    excluded = set(exclude)
    personalizer = get_personalizer()
    if not category_ids:
        items = personalizer.recommend(shopper=shopper, limit=limit, exclude=tuple(exclude))
        return [i for i in items if i.product_id not in excluded][:limit]
    asked = min(limit * CATEGORY_OVERFETCH, MAX_ASKED)
    items = personalizer.recommend(shopper=shopper, limit=asked, exclude=tuple(exclude))
    candidate_ids = {i.product_id for i in items} - excluded
    in_categories = set(
        Product.objects.filter(
            pk__in=candidate_ids, category_id__in=category_ids, is_active=True
        ).values_list("pk", flat=True)
    )
    chosen: list[ScoredItem] = []
    for item in items:
        if item.product_id in in_categories:
            chosen.append(item)
            in_categories.discard(item.product_id)  # each product once
    chosen = chosen[:limit]
    if len(chosen) < limit:
        chosen += _popular_in_categories(
            category_ids=category_ids,
            limit=limit - len(chosen),
            skip=excluded
            | {i.product_id for i in chosen}
            | shopper_purchased_product_ids(shopper=shopper),
        )
    return chosen


def _popular_in_categories(
    *, category_ids: Collection[int], limit: int, skip: set[int]
) -> list[ScoredItem]:
    """The categories' most popular active products not in ``skip``, scored below any
    personal recommendation."""
    products = (
        Product.objects.filter(is_active=True, category_id__in=category_ids)
        .exclude(pk__in=skip)
        .select_related("category")
        .order_by("-popularity", "pk")[:limit]
    )
    return [
        ScoredItem(
            product_id=product.pk,
            score=float(product.popularity) * 1e-6,
            reason=f"Popular in {product.category.name}",
        )
        for product in products
    ]
