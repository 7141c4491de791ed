"""Warming a web process up: the active model loaded, and its serving paths run once.

A process loads the active model on first use; left to the first shopper, their search
waits for the artifact to load, the item matrix to build and the first scoring calls.
``model_warm_up`` does all of that at start-up (config/warmup.py calls it from the web
process only), on a made-up shopper whose history is a few products the model knows: the
online top-K, the shopper vector and the search signals, through the functions that
serve real shoppers. It leaves that shopper's state in the cache under
``WARM_UP_SESSION`` for a minute, so that a search warm-up right after can run the
personalized order end to end.
"""

from __future__ import annotations

import time

from recommender.serving.model import LoadedModel, active_model
from recommender.serving.recommendations import score_histories
from recommender.serving.search import search_signal_arrays
from recommender.serving.shoppers import ShopperState, shopper_state_key, shopper_vectors
from shop.caching import cache_set

# A session id no shopper can have: Django's session keys and device ids
# (shop.shoppers.DEVICE_ID_PATTERN) have no "~".
WARM_UP_SESSION = "~warm-up"
# Products in the made-up shopper's history (the model's first known ones).
WARM_UP_HISTORY = 3
WARM_UP_STATE_SECONDS = 60


def model_warm_up() -> LoadedModel | None:
    """Load the active model in this process and run each serving path once.

    Returns the loaded model, or None when no version is active or its artifact does
    not load (``active_model`` logs why). Loads nothing a second time: a request that
    arrives meanwhile waits for this load or is answered without the model
    (``active_model``'s lock)."""
    loaded = active_model()
    if loaded is None:
        return None
    product_ids = loaded.items.sorted_ids[:WARM_UP_HISTORY].tolist()
    if not product_ids:
        return loaded
    now = time.time()
    history = (
        product_ids,
        [now - 60.0 * (len(product_ids) - n) for n in range(len(product_ids))],
        ["view"] * len(product_ids),
    )
    # Recommendations scored online (a shopper without a stored top-K).
    score_histories(loaded.model, [history], k=10, exclude=set())
    # The shopper vector, as a search computes it for a shopper with new events.
    vectors, recent, purchased = shopper_vectors(loaded.model, [history])
    cache_set(
        shopper_state_key(user_id=None, session_id=WARM_UP_SESSION),
        ShopperState(
            version_id=loaded.version_id,
            vector=vectors[0],
            recent=tuple(recent[0]),
            purchased=frozenset(purchased[0]),
        ),
        WARM_UP_STATE_SECONDS,
    )
    # The search signals on those products as candidates.
    search_signal_arrays(user_id=None, session_id=WARM_UP_SESSION, product_ids=product_ids)
    return loaded
