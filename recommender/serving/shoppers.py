"""What the active model knows of a shopper: their vector, latest and purchased products.

The refresh stores it with each shopper's top-K (UserRecommendation); search reads it
on every query, cached between requests and forgotten when the shopper views, carts,
buys or rates something (recommender.receivers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.models import UserRecommendation
from recommender.serving.histories import History, latest_event_id_subquery, shopper_history
from recommender.serving.model import LoadedModel
from shop.caching import cache_delete_many, cache_get, cache_set
from shop.models import Product

SHOPPER_STATE_SECONDS = 300
# How many of a shopper's latest products a stored row keeps.
RECENT_PRODUCTS = 10


@dataclass(frozen=True)
class ShopperState:
    """What the active model knows of a shopper: their vector and latest products."""

    version_id: int
    vector: np.ndarray | None  # None: no history yet
    recent: tuple[int, ...]  # product ids, newest first
    purchased: frozenset[int] = frozenset()
    recent_brands: tuple[int | None, ...] = ()  # the brand of each of ``recent``


def shopper_vectors(
    model, histories: list[History]
) -> tuple[np.ndarray, list[list[int]], list[list[int]]]:
    """(users, dim) float32 vectors of histories, each one's latest products (newest
    first) and purchased products: what search re-ranking reads (UserRecommendation)."""
    if not histories:
        return np.zeros((0, 0), np.float32), [], []
    vectors = np.asarray(
        model.user_vectors(
            [h[0] for h in histories], [h[1] for h in histories], [h[2] for h in histories]
        ),
        dtype=np.float32,
    )
    recent = [list(dict.fromkeys(reversed(h[0])))[:RECENT_PRODUCTS] for h in histories]
    return vectors, recent, [purchased_products(h) for h in histories]


def purchased_products(history: History) -> list[int]:
    """The distinct products a history's purchase events name, newest first."""
    items, _, types = history
    return list(
        dict.fromkeys(
            p for p, t in zip(reversed(items), reversed(types), strict=True) if t == "purchase"
        )
    )


def shopper_state_key(*, user_id: int | None, session_id: str) -> str:
    who = f"u{user_id}" if user_id is not None else f"s{session_id}"
    return f"recommender:shopper-state:{who}"


def shopper_state(
    loaded: LoadedModel, *, user_id: int | None, session_id: str
) -> ShopperState | None:
    """The shopper's vector from the active model (cached); None for nobody."""
    if user_id is None and not session_id:
        return None
    key = shopper_state_key(user_id=user_id, session_id=session_id)
    cached = cache_get(key)
    if isinstance(cached, ShopperState) and cached.version_id == loaded.version_id:
        return cached
    state = _stored_shopper_state(loaded, user_id) if user_id is not None else None
    if state is None:
        state = _live_shopper_state(loaded, user_id=user_id, session_id=session_id)
    cache_set(key, state, SHOPPER_STATE_SECONDS)
    return state


def _live_shopper_state(
    loaded: LoadedModel, *, user_id: int | None, session_id: str
) -> ShopperState:
    """The state computed from the shopper's history now, as the refresh computes it."""
    history = shopper_history(user_id=user_id, session_id=session_id, max_len=loaded.model.max_len)
    if not history[0]:
        return ShopperState(version_id=loaded.version_id, vector=None, recent=())
    vectors, recent, purchased = shopper_vectors(loaded.model, [history])
    return ShopperState(
        version_id=loaded.version_id,
        vector=vectors[0],
        recent=tuple(recent[0]),
        purchased=frozenset(purchased[0]),
        recent_brands=_brands_of(recent[0]),
    )


def _stored_shopper_state(loaded: LoadedModel, user_id: int) -> ShopperState | None:
    """The state the last refresh stored, if it is of this model and has seen the
    shopper's newest event (else None: the caller runs the model on the history)."""
    row = (
        UserRecommendation.objects.filter(user_id=user_id, model_version_id=loaded.version_id)
        .annotate(newest_event_id=latest_event_id_subquery(user_id))
        .values_list("vector", "recent", "purchased", "last_event_id", "newest_event_id")
        .first()
    )
    if row is None or row[0] is None or row[3] is None:
        return None
    vector, recent, purchased, last_event_id, newest_event_id = row
    if newest_event_id != last_event_id:
        return None  # newer events: a refresh is queued, the stored vector is behind
    vector = np.frombuffer(bytes(vector), dtype=np.float32)
    if vector.shape != (loaded.model.config.dim,):
        return None
    return ShopperState(
        version_id=loaded.version_id,
        vector=vector,
        recent=tuple(recent),
        purchased=frozenset(purchased),
        recent_brands=_brands_of(recent),
    )


def _brands_of(product_ids) -> tuple[int | None, ...]:
    """The brand id of each product (None: no brand, or the product is gone)."""
    if not product_ids:
        return ()
    brands = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "brand_id"))
    return tuple(brands.get(pid) for pid in product_ids)


def shopper_state_forget(*, user_ids=(), session_ids=()) -> None:
    keys = [shopper_state_key(user_id=u, session_id="") for u in user_ids]
    keys += [shopper_state_key(user_id=None, session_id=s) for s in session_ids if s]
    if keys:
        cache_delete_many(keys)
