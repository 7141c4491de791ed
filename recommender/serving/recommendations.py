"""A shopper's recommendations and a product's similar items, from the active model.

A shopper's top-K is read from the cache (Redis), then from Postgres (both written by
the refresh), else scored online; products not for sale are left out at read time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.models import UserRecommendation
from recommender.serving.histories import (
    History,
    available_product_ids,
    shopper_history,
    unavailable_product_ids,
)
from recommender.serving.model import LoadedModel, active_model
from shop.caching import cache_get, cache_set


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    score: float
    reason_product_id: int | None
    source: str  # cache, database, online, fallback


def recs_cache_key(user_id: int) -> str:
    return f"recommender:recs:{user_id}"


def score_histories(model, histories: list[History], *, k: int, exclude: set[int]) -> list[list]:
    """Top-K for each history: [[product id, score, reason product id or None], ...]."""
    if not histories:
        return []
    items, scores, reasons = model.top_k(
        [h[0] for h in histories],
        k,
        timestamps=[h[1] for h in histories],
        events=[h[2] for h in histories],
        exclude_history=True,
        exclude_items=exclude,
    )
    return [
        [
            [int(pid), round(float(score), 5), int(reason) if reason is not None else None]
            for pid, score, reason in zip(row_items, row_scores, row_reasons, strict=False)
        ]
        for row_items, row_scores, row_reasons in zip(items, scores, reasons, strict=True)
    ]


def recommendations_for_user(
    *, user_id: int | None, session_id: str = "", limit: int = 10, exclude: set[int] | None = None
) -> list[Recommendation]:
    """Cached top-K (Redis, then Postgres), else online scoring with the active model.

    Returns [] when there is no active model or no history to score: the caller falls
    back to popularity / content similarity.
    """
    exclude = exclude or set()
    loaded = active_model()
    if loaded is None or (user_id is None and not session_id):
        return []
    if user_id is not None:
        stored = _stored_top_k(loaded, user_id, limit)
        if stored is not None:
            items, source = stored
            return _from_items(items, source, limit, exclude)
    return _scored_online(
        loaded, user_id=user_id, session_id=session_id, limit=limit, exclude=exclude
    )


def _stored_top_k(loaded: LoadedModel, user_id: int, limit: int) -> tuple[list, str] | None:
    """The user's stored list of this model, if it is long enough: from the cache, else
    from Postgres (and cached again)."""
    key = recs_cache_key(user_id)
    cached = cache_get(key)
    if cached and cached.get("version") == loaded.version_id and len(cached["items"]) >= limit:
        return cached["items"], "cache"
    stored = UserRecommendation.objects.filter(
        user_id=user_id, model_version_id=loaded.version_id
    ).first()
    if stored is None or len(stored.items) < limit:
        return None
    cache_set(key, {"version": loaded.version_id, "items": stored.items}, 3600)
    return stored.items, "database"


def _scored_online(
    loaded: LoadedModel, *, user_id: int | None, session_id: str, limit: int, exclude: set[int]
) -> list[Recommendation]:
    history = shopper_history(user_id=user_id, session_id=session_id, max_len=loaded.model.max_len)
    if not history[0]:
        return []
    rows = score_histories(
        loaded.model,
        [history],
        k=max(limit * 2, 20),
        exclude=unavailable_product_ids() | exclude,
    )[0]
    return [Recommendation(pid, score, reason, "online") for pid, score, reason in rows][:limit]


def _from_items(items: list, source: str, limit: int, exclude: set[int]) -> list[Recommendation]:
    candidates = [row for row in items if row[0] not in exclude]
    available = available_product_ids([row[0] for row in candidates[: limit * 2]])
    return [
        Recommendation(row[0], row[1], row[2], source) for row in candidates if row[0] in available
    ][:limit]


def similar_items(*, product_id: int, limit: int = 8) -> list[Recommendation]:
    """The products most like ``product_id`` for the active model ([] if none): by
    item-vector cosine, by how often they follow or precede it, or the blend of both,
    as the served kind scores (``ServedModel.similar_scores``)."""
    loaded = active_model()
    if loaded is None:
        return []
    vocabulary = loaded.model.item_vocab
    internal_id = vocabulary.index.get(product_id)
    if internal_id is None:
        return []
    scores = loaded.model.similar_scores(internal_id)
    scores[internal_id] = -np.inf
    order = [int(i) for i in np.argsort(-scores, kind="stable")[: limit * 4]]
    order = [i for i in order if np.isfinite(scores[i])]
    ids = vocabulary.decode(order)
    available = available_product_ids([pid for pid in ids if isinstance(pid, int | np.integer)])
    out = [
        Recommendation(int(pid), float(scores[i]), product_id, "online")
        for i, pid in zip(order, ids, strict=True)
        if isinstance(pid, int | np.integer) and int(pid) in available
    ]
    return out[:limit]
