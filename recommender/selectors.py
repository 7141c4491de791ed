"""Read-side of the recommender: a shopper's recommendations and similar items."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from recommender import pipeline, serving
from recommender.models import UserRecommendation
from recommender.services import recs_cache_key
from shop.models import Product

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    score: float
    reason_product_id: int | None
    source: str  # cache, database, online, fallback


def _available(product_ids: list[int]) -> set[int]:
    return set(
        Product.objects.filter(pk__in=product_ids, is_active=True, stock__gt=0).values_list(
            "pk", flat=True
        )
    )


def _from_items(items: list, source: str, limit: int, exclude: set[int]) -> list[Recommendation]:
    candidates = [row for row in items if row[0] not in exclude]
    available = _available([row[0] for row in candidates[: limit * 2]])
    return [
        Recommendation(row[0], row[1], row[2], source) for row in candidates if row[0] in available
    ][:limit]


def recommendations_for_user(
    *, user_id: int | None, session_id: str = "", limit: int = 10, exclude: set[int] | None = None
) -> list[Recommendation]:
    """Cached top-K (Redis, then Postgres), else online scoring with the active model.

    Returns [] when there is no active model or no history to score: the caller falls
    back to popularity / content similarity.
    """
    exclude = exclude or set()
    loaded = serving.active_model()
    if loaded is None:
        return []
    if user_id is not None:
        cached = cache.get(recs_cache_key(user_id))
        if cached and cached.get("version") == loaded.version_id and len(cached["items"]) >= limit:
            return _from_items(cached["items"], "cache", limit, exclude)
        stored = UserRecommendation.objects.filter(
            user_id=user_id, model_version_id=loaded.version_id
        ).first()
        if stored is not None and len(stored.items) >= limit:
            cache.set(
                recs_cache_key(user_id), {"version": loaded.version_id, "items": stored.items}, 3600
            )
            return _from_items(stored.items, "database", limit, exclude)
        history = pipeline.histories_for_users([user_id], max_len=loaded.model.max_len)[user_id]
    elif session_id:
        history = pipeline.session_history(session_id, max_len=loaded.model.max_len)
    else:
        return []
    if not history[0]:
        return []
    rows = pipeline.score_histories(
        loaded.model,
        [history],
        k=max(limit * 2, 20),
        exclude=pipeline.unavailable_product_ids() | exclude,
    )[0]
    return [Recommendation(pid, score, reason, "online") for pid, score, reason in rows][:limit]


def _normalized_item_matrix(loaded: serving.LoadedModel):
    """Item ids, unit-length vectors, an id -> row map and the raw vectors, once per model."""
    cached = getattr(loaded, "_item_matrix", None)
    if cached is None:
        ids, vectors = loaded.model.item_vectors()
        raw = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        unit = raw / np.maximum(norms, 1e-8)
        cached = (np.asarray(ids, dtype=object), unit, {pid: i for i, pid in enumerate(ids)}, raw)
        loaded._item_matrix = cached
    return cached


def similar_items(*, product_id: int, limit: int = 8) -> list[Recommendation]:
    """Nearest products in the active model's item-vector space (cosine); [] if none."""
    loaded = serving.active_model()
    if loaded is None:
        return []
    ids, vectors, row_of, _ = _normalized_item_matrix(loaded)
    row = row_of.get(product_id)
    if row is None:
        return []
    scores = vectors @ vectors[row]
    scores[row] = -np.inf
    order = np.argsort(-scores)[: limit * 4]
    candidates = [
        int(ids[i]) for i in order if ids[i] is not None and isinstance(ids[i], int | np.integer)
    ]
    available = _available(candidates)
    out = [
        Recommendation(int(ids[i]), float(scores[i]), product_id, "online")
        for i in order
        if isinstance(ids[i], int | np.integer) and int(ids[i]) in available
    ]
    return out[:limit]


def affinity_scores(
    *, user_id: int | None, session_id: str, product_ids: list[int]
) -> dict[int, float]:
    """Dot product of the shopper's vector with each product's vector (model space)."""
    loaded = serving.active_model()
    if loaded is None or not product_ids:
        return {}
    if user_id is not None:
        history = pipeline.histories_for_users([user_id], max_len=loaded.model.max_len)[user_id]
    elif session_id:
        history = pipeline.session_history(session_id, max_len=loaded.model.max_len)
    else:
        return {}
    if not history[0]:
        return {}
    user_vector = np.asarray(loaded.model.user_vectors([history[0]], [history[1]], [history[2]]))[0]
    _, _, row_of, raw = _normalized_item_matrix(loaded)
    rows = [(pid, row_of[pid]) for pid in product_ids if pid in row_of]
    if not rows:
        return {}
    scores = raw[[r for _, r in rows]] @ user_vector
    return {pid: float(score) for (pid, _), score in zip(rows, scores, strict=True)}


# How many of the shopper's latest products the "similarity" search signal compares with.
SIMILARITY_RECENT_ITEMS = 3


def search_signals(
    *, user_id: int | None, session_id: str, product_ids: list[int]
) -> dict[str, dict[int, float]]:
    """The active model's signals for re-ranking search candidates, in one pass:

    - ``affinity``: the shopper's user vector . each product's vector (the same user
      vector as recommendations);
    - ``similarity``: the largest cosine between each product and the shopper's
      latest few products (the "bought together / next in line" signal).

    Empty dicts when there is no active model or no history (anonymous shoppers are
    known by their session's events).
    """
    loaded = serving.active_model()
    empty: dict[str, dict[int, float]] = {"affinity": {}, "similarity": {}}
    if loaded is None or not product_ids:
        return empty
    if user_id is not None:
        history = pipeline.histories_for_users([user_id], max_len=loaded.model.max_len)[user_id]
    elif session_id:
        history = pipeline.session_history(session_id, max_len=loaded.model.max_len)
    else:
        return empty
    if not history[0]:
        return empty
    user_vector = np.asarray(loaded.model.user_vectors([history[0]], [history[1]], [history[2]]))[0]
    _, unit, row_of, raw = _normalized_item_matrix(loaded)
    rows = [(pid, row_of[pid]) for pid in product_ids if pid in row_of]
    if not rows:
        return empty
    index = [r for _, r in rows]
    affinity = raw[index] @ user_vector
    recent = [row_of[p] for p in reversed(history[0]) if p in row_of][:SIMILARITY_RECENT_ITEMS]
    similarity = (unit[index] @ unit[recent].T).max(axis=1) if recent else np.zeros(len(rows))
    return {
        "affinity": {pid: float(a) for (pid, _), a in zip(rows, affinity, strict=True)},
        "similarity": {pid: float(v) for (pid, _), v in zip(rows, similarity, strict=True)},
    }


def user_recommendation_row(*, user_id: int) -> UserRecommendation | None:
    return (
        UserRecommendation.objects.filter(user_id=user_id).select_related("model_version").first()
    )
