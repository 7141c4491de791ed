"""The search blend's weights: which ones serve, and learning them from search clicks.

Learning to rank from the log: every storefront/API search records the list shown and,
per shown product, the personalizer's raw features (``context["components"]``, keys
``x_<feature>``); a click (or add-to-cart / purchase) carries the search's event id in
``context["search_event_id"]``. Each search with exactly one clicked product among the
shown ones is a training list with that product as the target; the blend is fitted
listwise (recommender.ml.ranking.fit_blend). Until ``MIN_SEARCHES`` such searches
exist, the offline-tuned defaults serve.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from django.core.cache import cache

from recommender.ml.ranking import (
    DEFAULT_WEIGHTS,
    INTERACTING,
    LIVE_FEATURES,
    BlendModel,
    fit_blend,
)
from recommender.models import SearchBlend
from shop.caching import cache_get, cache_set
from shop.models import Event, EventType

logger = logging.getLogger(__name__)

MIN_SEARCHES = 200
MAX_SEARCHES = 50_000
CACHE_KEY = "recommender:search_blend"
CACHE_SECONDS = 60
LINKED_EVENT_TYPES = (EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE)


def search_blend_current() -> BlendModel:
    """The newest stored blend, else the offline defaults (cached for a minute: in this
    process, then in the shared cache)."""
    now = time.monotonic()
    if _local["expires"] > now:
        return _local["blend"]
    weights = cache_get(CACHE_KEY)
    if weights is None:
        row = SearchBlend.objects.order_by("-created_at", "-id").values("weights").first()
        weights = row["weights"] if row else DEFAULT_WEIGHTS
        cache_set(CACHE_KEY, weights, CACHE_SECONDS)
    blend = BlendModel.from_dict(weights, LIVE_FEATURES, INTERACTING)
    _local.update(blend=blend, expires=now + LOCAL_SECONDS)
    return blend


# Every search reads the blend: each process keeps it a few seconds before asking the
# shared cache again (a new blend reaches every process within that time).
LOCAL_SECONDS = 5.0
_local: dict = {"blend": None, "expires": 0.0}


def search_blend_forget() -> None:
    _local["expires"] = 0.0
    cache.delete(CACHE_KEY)


def search_training_lists(*, limit: int = MAX_SEARCHES):
    """(features per search, target row per search) from the newest logged searches."""
    clicks = _clicked_products_by_search(limit=limit * 4)
    lists, targets = [], []
    searches = Event.objects.filter(pk__in=list(clicks), event_type=EventType.SEARCH).values_list(
        "pk", "context"
    )
    for pk, context in searches.iterator(chunk_size=2000):
        shown = context.get("shown") or []
        components = context.get("components") or []
        clicked = [n for n, pid in enumerate(shown) if pid in clicks[pk]]
        if len(clicked) != 1 or len(components) != len(shown) or len(shown) < 2:
            continue
        try:
            rows = [[float(c[f"x_{name}"]) for name in LIVE_FEATURES] for c in components]
        except (KeyError, TypeError, ValueError):
            continue  # a search served without personalized features
        lists.append(np.array(rows))
        targets.append(clicked[0])
    return lists, targets


def _clicked_products_by_search(*, limit: int) -> dict[int, set[int]]:
    """Search event id -> the products clicked (or carted, bought) from it, over the
    newest ``limit`` such events."""
    clicks: dict[int, set[int]] = {}
    linked = (
        Event.objects.filter(event_type__in=LINKED_EVENT_TYPES, context__has_key="search_event_id")
        .order_by("-id")
        .values_list("context", "product_id")[:limit]
    )
    for context, product_id in linked:
        search_id = context.get("search_event_id")
        if isinstance(search_id, int) and product_id is not None:
            clicks.setdefault(search_id, set()).add(product_id)
    return clicks


def search_blend_learn_from_clicks(*, min_searches: int = MIN_SEARCHES) -> SearchBlend | None:
    """Fit the blend on logged search -> click events; None when too few exist yet."""
    lists, targets = search_training_lists()
    if len(lists) < min_searches:
        logger.info("Search blend: %d usable searches, %d needed", len(lists), min_searches)
        return None
    model = fit_blend(lists, targets, LIVE_FEATURES, interacting=INTERACTING)
    blend = SearchBlend.objects.create(
        weights=model.as_dict(),
        source=SearchBlend.Source.CLICKS,
        searches=len(lists),
        metrics=model.info,
    )
    search_blend_forget()
    return blend
