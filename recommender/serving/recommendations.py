"""A shopper's recommendations and a product's similar items, from the active model.

A shopper's top-K is read from the cache (Redis), then from Postgres (both written by
the refresh), else scored online; products not for sale are left out at read time.

A shopper in an arm of a running recommendations experiment (shop.experiments) whose
variant names another model version is scored online with that version's artifact
(loaded once per process and kept, a few at most); the exposure is recorded once the
arm's model serves. Any failure there serves the active model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from recommender.models import ModelVersion, UserRecommendation
from recommender.serving.histories import (
    History,
    available_product_ids,
    shopper_history,
    unavailable_product_ids,
)
from recommender.serving.model import ArtifactError, LoadedModel, active_model, load_artifact
from shop.caching import cache_get, cache_set
from shop.experiments.assignment import Assignment
from shop.experiments.serving import experiment_arm, exposure_record
from shop.models import ExperimentSurface
from shop.shoppers import Shopper

logger = logging.getLogger(__name__)


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
    if user_id is None and not session_id:
        return []
    arm = _experiment_arm_model(user_id, session_id, loaded)
    # The arm served by the active model: its shopper counts once that model answered
    # (as an arm of another version counts once it did), never when there is none.
    active_arm = None
    if arm is not None:
        assignment, arm_model = arm
        if arm_model is None:
            active_arm = assignment
        else:
            try:
                recommendations = _scored_online(
                    arm_model, user_id=user_id, session_id=session_id, limit=limit, exclude=exclude
                )
            except Exception:
                logger.exception("Experiment model v%s failed to score", arm_model.version_id)
            else:
                exposure_record(assignment)
                return recommendations
    if loaded is None:
        return []
    recommendations = _active_recommendations(loaded, user_id, session_id, limit, exclude)
    if active_arm is not None:
        exposure_record(active_arm)
    return recommendations


def _active_recommendations(loaded, user_id, session_id, limit, exclude) -> list:
    """The active model's answer: the stored top-K, else scored online."""
    if user_id is not None:
        stored = _stored_top_k(loaded, user_id, limit)
        if stored is not None:
            items, source = stored
            return _from_items(items, source, limit, exclude)
    return _scored_online(
        loaded, user_id=user_id, session_id=session_id, limit=limit, exclude=exclude
    )


# ------------------------------------------------------------------ A/B experiments

# Model versions other than the active one that experiments serve, per process.
VERSIONS_KEPT = 2
# After a version fails to load, this process serves the active model for this long
# before trying again (loading is slow; a broken artifact would be retried per request).
RETRY_FAILED_SECONDS = 60.0
_versions: OrderedDict[int, LoadedModel] = OrderedDict()
_failed: dict[int, float] = {}
_versions_lock = threading.Lock()


def _experiment_arm_model(
    user_id: int | None, session_id: str, active: LoadedModel | None
) -> tuple[Assignment, LoadedModel | None] | None:
    """The shopper's arm, and the model it serves when not the active one (None: the
    active one). None when no experiment serves the shopper or their arm's model
    cannot be loaded: they get the active model and are not counted."""
    shopper = Shopper(user_id=user_id, session_id=session_id)
    assignment = experiment_arm(surface=ExperimentSurface.RECOMMENDATIONS, shopper=shopper)
    if assignment is None:
        return None
    version_id = assignment.variant.get("model_version")
    if version_id is None or (active is not None and active.version_id == version_id):
        return assignment, None
    try:
        model = experiment_model(int(version_id))
    except Exception:
        logger.exception("Experiment %s: model v%s failed", assignment.experiment_id, version_id)
        return None
    return (assignment, model) if model is not None else None


def experiment_model(version_id: int) -> LoadedModel | None:
    """Version ``version_id`` loaded for an experiment's arm (this process keeps the
    VERSIONS_KEPT last used); None (logged) when its row is gone or it does not load."""
    with _versions_lock:
        if version_id in _versions:
            _versions.move_to_end(version_id)
            return _versions[version_id]
        if time.monotonic() - _failed.get(version_id, -RETRY_FAILED_SECONDS) < (
            RETRY_FAILED_SECONDS
        ):
            return None
        version = ModelVersion.objects.filter(pk=version_id).first()
        try:
            if version is None:
                raise ArtifactError(f"model version {version_id} does not exist")
            loaded = LoadedModel(version_id, load_artifact(version.artifact_path))
        except ArtifactError:
            logger.exception("Cannot load model v%s for an experiment", version_id)
            _failed[version_id] = time.monotonic()
            return None
        _versions[version_id] = loaded
        while len(_versions) > VERSIONS_KEPT:
            _versions.popitem(last=False)
        return loaded


def experiment_models_forget() -> None:
    """Drop the experiment models this process keeps (tests)."""
    with _versions_lock:
        _versions.clear()
        _failed.clear()


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
