"""Product.popularity: every newly stored event adds its type's weight
(shop.selectors.EVENT_WEIGHTS) once, with F() expressions. Duplicates add nothing: only
rows actually inserted are counted.

File imports add in the writer's transaction. The app's event batches add after their
commit, on a worker (``product_popularity_add_later``): the UPDATE rewrites every
product row it touches, each index with it, which was 40% of a batch's time on the web
worker (cProfile of 20 batches of 500 over 100,000 products). With Celery in process
(no broker) or the broker down, the counts are added in process after the commit."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F

from shop.models import Product
from shop.selectors import EVENT_WEIGHTS

PRODUCT_CHUNK = 5000
# The Celery task that adds counts on a worker (shop.tasks).
POPULARITY_TASK = "shop.tasks.product_popularity_add"
logger = logging.getLogger(__name__)


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


def product_popularity_add_later(*, weights: Mapping[int, int]) -> None:
    """Add the counts once the current transaction commits, on a worker when there is a
    broker (the web request does not wait for the UPDATE), else in process."""
    if not weights:
        return
    payload = {str(pid): int(weight) for pid, weight in weights.items() if weight}

    def send() -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            try:
                current_app.send_task(POPULARITY_TASK, args=[payload])
                return
            except Exception:
                logger.warning("Broker unavailable: popularity added in process", exc_info=True)
        product_popularity_add(weights={int(pid): w for pid, w in payload.items()})

    transaction.on_commit(send, robust=True)
