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
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from recommender.models import ModelVersion
from recommender.serving.items import ItemMatrix
from recommender.signals import model_loaded
from shop.caching import cache_get, cache_set

if TYPE_CHECKING:
    from recommender.ml import ServedModel

logger = logging.getLogger(__name__)

ACTIVE_VERSION_KEY = "recommender:active-version"
CHECK_SECONDS = 2.0


class ArtifactError(Exception):
    """A model artifact is missing or cannot be loaded."""


@dataclass
class LoadedModel:
    version_id: int
    model: ServedModel

    @cached_property
    def items(self) -> ItemMatrix:
        """The model's item matrix, built on first use and kept with the model."""
        return ItemMatrix.of_model(self.model)


_lock = threading.Lock()
_state: dict = {"loaded": None, "checked_at": 0.0, "active_id": None}


def load_artifact(path: str | Path) -> ServedModel:
    """Load and smoke-test an artifact directory; ArtifactError says what is wrong.

    The served model of any kind; a directory saved before the served model existed
    (the transformer alone) loads as the transformer."""
    directory = Path(path)
    if not directory.is_dir():
        raise ArtifactError(f"artifact directory {directory} does not exist")
    # Here, not at the top: TensorFlow loads with the first model, not with every
    # process that sets Django up (manage.py commands, beat, a web process without one).
    from recommender.ml import ServedModel

    try:
        model = ServedModel.load(directory)
        model.top_k([[]], 1, exclude_history=False)
    except Exception as exc:  # a corrupted file can fail in many ways
        raise ArtifactError(
            f"artifact {directory} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    return model


def active_version_id() -> int | None:
    """The active version's id, from the cache (set on activation) or the database."""
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
        if not _load(version_id, serving=loaded):
            return loaded
    # Outside the lock and with no reference to the replaced model left here: a
    # receiver that collects garbage (config.heap) frees the old model's cycles.
    loaded = None
    model_loaded.send(sender=LoadedModel, version_id=version_id)
    return _state["loaded"]


def _load(version_id: int, *, serving: LoadedModel | None) -> bool:
    """Load version ``version_id`` as this process's model; False (logged) when its row
    is gone or its artifact does not load, and the process keeps ``serving``."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        return False
    try:
        model = load_artifact(version.artifact_path)
    except ArtifactError:
        logger.exception(
            "Cannot load model v%s; still serving %s",
            version_id,
            serving and f"v{serving.version_id}",
        )
        return False
    _state["loaded"] = LoadedModel(version_id=version_id, model=model)
    logger.info("Serving model v%s", version_id)
    return True


def reset() -> None:
    """Forget the loaded model (tests)."""
    with _lock:
        _state.update({"loaded": None, "checked_at": 0.0, "active_id": None})
