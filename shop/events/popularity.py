"""Product.popularity: the sum of its events' weights (shop.selectors.EVENT_WEIGHTS)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from shop.models import Event, Product
from shop.selectors import EVENT_WEIGHTS

PRODUCT_CHUNK = 5000


def product_popularity_refresh(*, product_ids: Iterable[int] | None = None) -> int:
    """Recompute Product.popularity from the event log (all products, or the given ones).

    One correlated UPDATE per chunk of products; each subquery reads the
    (product, event_type) index, so the cost follows the events of those products.
    """
    weighted = sum(Count("pk", filter=Q(event_type=t)) * w for t, w in EVENT_WEIGHTS.items())
    per_product = (
        Event.objects.filter(product=OuterRef("pk"))
        .values("product")
        .annotate(score=weighted)
        .values("score")
    )
    expression = Coalesce(Subquery(per_product), Value(0))
    if product_ids is None:
        return Product.objects.update(popularity=expression)
    ids = sorted(set(product_ids))
    updated = 0
    for i in range(0, len(ids), PRODUCT_CHUNK):
        updated += Product.objects.filter(pk__in=ids[i : i + PRODUCT_CHUNK]).update(
            popularity=expression
        )
    return updated
