"""The search blend's weights: which ones serve, and learning them from search clicks.

Learning to rank from the log: every storefront/API search records the list shown and,
per shown product, the personalizer's raw features (``context["components"]``, keys
``x_<feature>``); a click (or add-to-cart / purchase) carries the search's event id in
``context["search_event_id"]``. Each search with exactly one clicked product among the
shown ones is a training list with that product as the target; the blend is fitted
listwise (recommender.ml.ranking.fit_blend). Until ``MIN_SEARCHES`` such searches
exist, the offline-tuned defaults serve. Staff may also set the weights by hand
(``search_blend_save``): the newest row serves, whatever its source.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from recommender.ml.ranking import (
    DEFAULT_WEIGHTS,
    INTERACTING,
    LIVE_FEATURES,
    BlendModel,
    blend_terms,
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
# The outcome of the last learning attempt, for the staff page (kept a month).
LAST_LEARNING_KEY = "recommender:search_blend:last_learning"
LAST_LEARNING_SECONDS = 30 * 24 * 3600
# A staff weight beyond this is a typing error (learned weights stay within about ±1).
MAX_STAFF_WEIGHT = 100.0
# What each feature measures (per candidate, standardised within the list of results).
FEATURE_MEANINGS = {
    "text": "Text relevance of the product to the query (full-text rank).",
    "affinity": "The served model's affinity: the shopper's vector times the product's.",
    "popularity": "How popular the product is (distinct shoppers lately, shop.popularity).",
    "similarity": "Largest similarity to one of the shopper's latest products.",
    "bought": "The shopper has already bought this product.",
    "brand": "Share of the shopper's latest products that are of this brand.",
    "co_bought": "How often the shopper's latest products were bought by the same "
    "shoppers as this one (co-occurrence).",
}


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


def _forget_now_and_on_commit() -> None:
    # Now, and once committed: a search in another process that read the old row in
    # between must not keep it in the shared cache for CACHE_SECONDS.
    search_blend_forget()
    transaction.on_commit(search_blend_forget, robust=True)


def search_blend_terms() -> tuple[str, ...]:
    """Every weight's name, in the blend's order: the features, their pairwise products
    ("a*b") and squares ("a^2")."""
    return blend_terms(LIVE_FEATURES, INTERACTING)


def search_blend_term_meaning(term: str) -> str:
    """What a weight multiplies, in words."""
    if term.endswith("^2"):
        name = term.removesuffix("^2")
        return f"{name} squared: a candidate far from the list's average {name}, either way."
    if "*" in term:
        first, second = term.split("*")
        return f"{first} × {second}: both high (or both low) together."
    return FEATURE_MEANINGS.get(term, "")


def search_blend_in_use() -> tuple[SearchBlend | None, dict[str, float]]:
    """The newest stored blend (None: the offline defaults serve) and its weights, every
    term present (a term it lacks weighs 0, as in serving)."""
    row = SearchBlend.objects.order_by("-created_at", "-id").first()
    stored = row.weights if row else DEFAULT_WEIGHTS
    return row, {term: float(stored.get(term, 0.0)) for term in search_blend_terms()}


class BlendWeightsError(ValueError):
    """Weights that name an unknown term, or are not finite numbers in range."""


def search_blend_save(
    *, weights: Mapping[str, float], editor: str, note: str = "", based_on: int | None = None
) -> SearchBlend:
    """Store staff weights as the new blend (it serves within ``LOCAL_SECONDS`` in every
    process, at once in this one). A term not given weighs 0. Raises BlendWeightsError."""
    known = search_blend_terms()
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise BlendWeightsError(f"unknown terms: {', '.join(unknown)}")
    clean = {}
    for term in known:
        try:
            value = float(weights.get(term, 0.0))
        except (TypeError, ValueError):
            raise BlendWeightsError(f"{term}: not a number") from None
        if not math.isfinite(value) or abs(value) > MAX_STAFF_WEIGHT:
            raise BlendWeightsError(
                f"{term}: must be between -{MAX_STAFF_WEIGHT:g} and {MAX_STAFF_WEIGHT:g}"
            )
        clean[term] = value
    blend = SearchBlend.objects.create(
        weights=clean,
        source=SearchBlend.Source.STAFF,
        searches=0,
        metrics={"based_on": based_on} if based_on else {},
        note=f"{editor}: {note}".strip().rstrip(":")[:300],
    )
    _forget_now_and_on_commit()
    return blend


@dataclass(frozen=True)
class LearningOutcome:
    at: datetime
    usable_searches: int
    needed: int
    blend_id: int | None  # the blend learned, or None when there were too few searches


def search_blend_last_learning() -> LearningOutcome | None:
    """The outcome of the last learning attempt (scheduled or asked for), if known."""
    stored = cache_get(LAST_LEARNING_KEY)
    return LearningOutcome(**stored) if isinstance(stored, dict) else None


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
    blend = None
    if len(lists) < min_searches:
        logger.info("Search blend: %d usable searches, %d needed", len(lists), min_searches)
    else:
        model = fit_blend(lists, targets, LIVE_FEATURES, interacting=INTERACTING)
        blend = SearchBlend.objects.create(
            weights=model.as_dict(),
            source=SearchBlend.Source.CLICKS,
            searches=len(lists),
            metrics=model.info,
        )
        _forget_now_and_on_commit()
    outcome = {
        "at": timezone.now(),
        "usable_searches": len(lists),
        "needed": min_searches,
        "blend_id": blend.pk if blend else None,
    }
    cache_set(LAST_LEARNING_KEY, outcome, LAST_LEARNING_SECONDS)
    return blend
