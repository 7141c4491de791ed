"""The active model's signals for re-ranking a shopper's search candidates."""

from __future__ import annotations

import numpy as np

from recommender.serving.items import ItemMatrix
from recommender.serving.model import active_model
from recommender.serving.shoppers import shopper_state

# How many of the shopper's latest products the "similarity" search signal compares with.
SIMILARITY_RECENT_ITEMS = 3
SIGNAL_NAMES = ("affinity", "similarity", "bought")


def search_signals(
    *, user_id: int | None, session_id: str, product_ids: list[int]
) -> dict[str, dict[int, float]]:
    """The active model's signals for re-ranking search candidates, in one pass:

    - ``affinity``: the shopper's user vector . each product's vector (the same user
      vector as recommendations);
    - ``similarity``: the largest cosine between each product and the shopper's
      latest few products (the "bought together / next in line" signal);
    - ``bought``: 1 for a product the shopper already bought, else 0.

    Empty dicts when there is no active model or no history (anonymous shoppers are
    known by their session's events); products the model does not know are left out.
    """
    arrays = search_signal_arrays(user_id=user_id, session_id=session_id, product_ids=product_ids)
    out: dict[str, dict[int, float]] = {name: {} for name in SIGNAL_NAMES}
    if arrays is None:
        return out
    for n, pid in enumerate(product_ids):
        if arrays["known"][n]:
            for name in SIGNAL_NAMES:
                out[name][pid] = float(arrays[name][n])
    return out


def search_signal_arrays(
    *, user_id: int | None, session_id: str, product_ids: list[int]
) -> dict[str, np.ndarray] | None:
    """``search_signals`` as arrays aligned with ``product_ids`` ("affinity", "similarity",
    "bought", and "known": whether the model knows the product; the model's signals are
    0 where it does not); None when the model has nothing to say about this shopper."""
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
    affinity = np.zeros(len(product_ids), dtype=np.float64)
    affinity[known] = matrix.raw[rows] @ state.vector
    similarity = np.zeros(len(product_ids), dtype=np.float64)
    similarity[known] = _similarity_to_recent(matrix, rows, state.recent)
    bought = np.zeros(len(product_ids), dtype=np.float64)
    if state.purchased:
        bought[np.isin(np.asarray(product_ids, dtype=np.int64), list(state.purchased))] = 1.0
    return {"affinity": affinity, "similarity": similarity, "bought": bought, "known": known}


def _similarity_to_recent(matrix: ItemMatrix, rows: np.ndarray, recent: tuple[int, ...]):
    """Each row's largest cosine with the shopper's latest few products (0 without any)."""
    recent_rows = [matrix.row_of[p] for p in recent if p in matrix.row_of]
    recent_rows = recent_rows[:SIMILARITY_RECENT_ITEMS]
    if not recent_rows:
        return 0.0
    return (matrix.unit[rows] @ matrix.unit[recent_rows].T).max(axis=1)
