"""Product.popularity: every newly stored event adds its type's weight
(shop.selectors.EVENT_WEIGHTS) once, with F() expressions, in the writer's transaction
where there is one. Duplicates add nothing: only rows actually inserted are counted."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from django.db.models import F

from shop.models import Product
from shop.selectors import EVENT_WEIGHTS

PRODUCT_CHUNK = 5000


def popularity_weights(events: Iterable[tuple[int | None, str]]) -> Counter[int]:
    """(product id, event type) pairs to the weight each product gains."""
    weights: Counter[int] = Counter()
    for product_id, event_type in events:
        weight = EVENT_WEIGHTS.get(event_type, 0)
        if product_id and weight:
            weights[product_id] += weight
    return weights


def product_popularity_add(*, weights: Mapping[int, int]) -> None:
    """Add each product's weight to its popularity: one UPDATE per distinct weight."""
    by_weight: dict[int, list[int]] = defaultdict(list)
    for product_id, weight in weights.items():
        if weight:
            by_weight[weight].append(product_id)
    for weight, product_ids in sorted(by_weight.items()):
        for i in range(0, len(product_ids), PRODUCT_CHUNK):
            Product.objects.filter(pk__in=product_ids[i : i + PRODUCT_CHUNK]).update(
                popularity=F("popularity") + weight
            )
