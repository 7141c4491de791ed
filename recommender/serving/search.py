"""The active model's signals for re-ranking a shopper's search candidates."""

from __future__ import annotations

import numpy as np

from recommender.ml.data import N_RESERVED
from recommender.serving.items import ItemMatrix
from recommender.serving.model import active_model
from recommender.serving.shoppers import ShopperState, shopper_state

# How many of the shopper's latest products the "similarity" search signal compares with.
SIMILARITY_RECENT_ITEMS = 3
SIGNAL_NAMES = ("affinity", "similarity", "bought", "brand", "co_bought")


def search_signals(
    *, user_id: int | None, session_id: str, product_ids: list[int], brand_ids=()
) -> dict[str, dict[int, float]]:
    """The active model's signals for re-ranking search candidates, in one pass:

    - ``affinity``: the served model's liking of each product for the shopper
      (``ServedModel.affinity``: the transformer's user . item vector, the transitions'
      scores from their latest products, or both blended, as the model serves);
    - ``similarity``: the largest cosine between each product and the shopper's
      latest few products (the "bought together / next in line" signal);
    - ``bought``: 1 for a product the shopper already bought, else 0;
    - ``brand``: the share of the shopper's latest products of each product's brand
      (``brand_ids``, aligned with ``product_ids``);
    - ``co_bought``: log(1 + 100 x) of how often shoppers who had the shopper's latest
      products also had each product (the served artifact's co-occurrence counts,
      newer products weighing more).

    Empty dicts when there is no active model or no history (anonymous shoppers are
    known by their session's events); products the model does not know are left out.
    """
    arrays = search_signal_arrays(
        user_id=user_id, session_id=session_id, product_ids=product_ids, brand_ids=brand_ids
    )
    out: dict[str, dict[int, float]] = {name: {} for name in SIGNAL_NAMES}
    if arrays is None:
        return out
    for n, pid in enumerate(product_ids):
        if arrays["known"][n]:
            for name in SIGNAL_NAMES:
                out[name][pid] = float(arrays[name][n])
    return out


def search_signal_arrays(
    *, user_id: int | None, session_id: str, product_ids: list[int], brand_ids=()
) -> dict[str, np.ndarray] | None:
    """``search_signals`` as arrays aligned with ``product_ids`` (``SIGNAL_NAMES`` and
    "known": whether the model knows the product; the model's signals are 0 where it
    does not); None when the model has nothing to say about this shopper."""
    loaded = active_model()
    if loaded is None or not product_ids:
        return None
    state = shopper_state(loaded, user_id=user_id, session_id=session_id)
    if state is None or state.vector is None:
        return None
    matrix = loaded.items
    index = matrix.rows(product_ids)
    known = index >= 0
    if not known.any():
        return None
    rows = index[known]
    recent = [matrix.row_of[p] + N_RESERVED for p in state.recent if p in matrix.row_of]
    affinity = np.zeros(len(product_ids), dtype=np.float64)
    affinity[known] = loaded.model.affinity(state.vector, recent, rows + N_RESERVED)
    similarity = np.zeros(len(product_ids), dtype=np.float64)
    similarity[known] = _similarity_to_recent(matrix, rows, state.recent)
    bought = np.zeros(len(product_ids), dtype=np.float64)
    if state.purchased:
        bought[np.isin(np.asarray(product_ids, dtype=np.int64), list(state.purchased))] = 1.0
    co_bought = np.zeros(len(product_ids), dtype=np.float64)
    co_bought[known] = np.log1p(
        np.maximum(loaded.model.cooccurrence.recent_scores(recent, rows + N_RESERVED), 0.0) * 100
    )
    return {
        "affinity": affinity,
        "similarity": similarity,
        "bought": bought,
        "brand": _brand_share(brand_ids, state, len(product_ids)),
        "co_bought": co_bought,
        "known": known,
    }


def _brand_share(brand_ids, state: ShopperState, n: int) -> np.ndarray:
    """Per candidate, the share of the shopper's latest products of its brand (0 for a
    candidate without a brand, and for all when the brands are not given)."""
    if len(brand_ids) != n or not state.recent_brands:
        return np.zeros(n, dtype=np.float64)
    counts: dict[int, int] = {}
    for brand in state.recent_brands:
        if brand is not None:
            counts[brand] = counts.get(brand, 0) + 1
    total = len(state.recent_brands)
    return np.array([counts.get(b, 0) / total for b in brand_ids], dtype=np.float64)


def _similarity_to_recent(matrix: ItemMatrix, rows: np.ndarray, recent: tuple[int, ...]):
    """Each row's largest cosine with the shopper's latest few products (0 without any)."""
    recent_rows = [matrix.row_of[p] for p in recent if p in matrix.row_of]
    recent_rows = recent_rows[:SIMILARITY_RECENT_ITEMS]
    if not recent_rows:
        return 0.0
    return (matrix.unit[rows] @ matrix.unit[recent_rows].T).max(axis=1)
