"""The active model, loaded once per process and swapped when staff activate another.

Web and worker processes check which version is active at most every few seconds
(a cache key, else one indexed query) and load the new artifact when it changed, so an
activation or a rollback reaches every process without a restart. If the new artifact
cannot be loaded, the process keeps serving the model it has and logs why.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shop.caching import cache_get, cache_set
from shop.heap import heap_freeze

logger = logging.getLogger(__name__)

ACTIVE_VERSION_KEY = "recommender:active-version"
CHECK_SECONDS = 2.0


class ArtifactError(Exception):
    """A model artifact is missing or cannot be loaded."""


@dataclass
class LoadedModel:
    version_id: int
    model: object  # recommender.ml.TrainedModel


_lock = threading.Lock()
_state: dict = {"loaded": None, "checked_at": 0.0, "active_id": None}


def load_artifact(path: str | Path):
    """Load and smoke-test an artifact directory; ArtifactError says what is wrong."""
    directory = Path(path)
    if not directory.is_dir():
        raise ArtifactError(f"artifact directory {directory} does not exist")
    try:
        from recommender.ml import TrainedModel

        model = TrainedModel.load(directory)
        items, _, _ = model.top_k([[]], 1, exclude_history=False)
    except Exception as exc:  # a corrupted file can fail in many ways
        raise ArtifactError(
            f"artifact {directory} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    return model


def active_version_id() -> int | None:
    """The active version's id, from the cache (set on activation) or the database."""
    from recommender.models import ModelVersion

    value = cache_get(ACTIVE_VERSION_KEY)
    if value is not None:
        return value or None
    version_id = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    cache_set(ACTIVE_VERSION_KEY, version_id or 0, 60)
    return version_id


def announce_active(version_id: int | None) -> None:
    cache_set(ACTIVE_VERSION_KEY, version_id or 0, 60)
    _state["checked_at"] = 0.0


def active_model() -> LoadedModel | None:
    """The loaded active model of this process (None when no version is active)."""
    now = time.monotonic()
    if now - _state["checked_at"] < CHECK_SECONDS and _state["active_id"] is not None:
        return _state["loaded"]
    with _lock:
        _state["checked_at"] = now
        version_id = active_version_id()
        _state["active_id"] = version_id or 0
        loaded: LoadedModel | None = _state["loaded"]
        if version_id is None:
            _state["loaded"] = None
            return None
        if loaded is not None and loaded.version_id == version_id:
            return loaded
        from recommender.models import ModelVersion

        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is None:
            return loaded
        try:
            model = load_artifact(version.artifact_path)
        except ArtifactError:
            logger.exception(
                "Cannot load model v%s; still serving %s",
                version_id,
                loaded and f"v{loaded.version_id}",
            )
            return loaded
        _state["loaded"] = LoadedModel(version_id=version_id, model=model)
        logger.info("Serving model v%s", version_id)
        # The model's objects are long-lived: out of the collector's full passes (in web
        # processes). The replaced model is garbage by then (no reference left here), so
        # the collection that precedes the freeze frees its cycles.
        loaded = model = None
        heap_freeze()
        return _state["loaded"]


def reset() -> None:
    """Forget the loaded model (tests)."""
    with _lock:
        _state.update({"loaded": None, "checked_at": 0.0, "active_id": None})
