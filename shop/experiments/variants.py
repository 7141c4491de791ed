"""What an arm can serve, per surface, and how staff read it.

- search: ``{"search_order": "personalized"}`` or ``{"search_order": "lexical"}``;
- recommendations: ``{"model_version": <id>}``, or ``{"model_version": None}`` for the
  model active at the time. The shop knows no model versions: the recommender, when
  installed, registers a function listing them (``model_versions_provider_set``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from shop.models import ExperimentSurface

logger = logging.getLogger(__name__)

SEARCH_ORDER_LABELS = {
    "personalized": "personalized order",
    "lexical": "lexical order (text match and popularity)",
}
ACTIVE_MODEL = "active"

# () -> [(version id, label)], newest first.
ModelVersionsProvider = Callable[[], list[tuple[int, str]]]
_model_versions: list[ModelVersionsProvider] = []
# The permission a user needs to serve a model version to shoppers (an arm naming one
# starts serving it; declaring it the winner activates it): the provider's app names it.
_model_versions_permission: list[str] = []


def model_versions_provider_set(
    provider: ModelVersionsProvider | None, *, permission: str | None = None
) -> ModelVersionsProvider | None:
    """Register the function listing model versions (None: none) and the permission
    needed to serve one (None: unchanged); returns the provider it replaces."""
    previous = _model_versions[0] if _model_versions else None
    _model_versions[:] = [provider] if provider else []
    if permission is not None:
        _model_versions_permission[:] = [permission] if permission else []
    return previous


def may_serve_variants(user, variants) -> bool:
    """Whether ``user`` may put these arms' variants in front of shoppers: arms naming
    a model version need the permission the recommender registered (a staff user who
    may run experiments but not activate models cannot activate one through them)."""
    if user is None or not any(v.get("model_version") for v in variants):
        return True
    return all(user.has_perm(permission) for permission in _model_versions_permission)


def model_version_choices() -> list[tuple[int, str]]:
    """The model versions staff may put in an arm ([] without a recommender)."""
    if not _model_versions:
        return []
    try:
        return [(int(pk), str(label)) for pk, label in _model_versions[0]()]
    except Exception:
        logger.exception("Listing the model versions failed")
        return []


def variant_choices(surface: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a form: (group, [(encoded variant, label)])."""
    groups = []
    if surface in (None, ExperimentSurface.SEARCH):
        groups.append(
            (
                "Search order",
                [(f"search_order:{key}", label) for key, label in SEARCH_ORDER_LABELS.items()],
            )
        )
    if surface in (None, ExperimentSurface.RECOMMENDATIONS):
        versions = [(f"model_version:{ACTIVE_MODEL}", "the active model (whichever it is)")]
        versions += [(f"model_version:{pk}", label) for pk, label in model_version_choices()]
        groups.append(("Recommendations model", versions))
    return groups


def variant_decode(encoded: str) -> dict:
    """ "search_order:lexical" -> {"search_order": "lexical"}; "model_version:3" ->
    {"model_version": 3}; "model_version:active" -> {"model_version": None}.
    ValueError for anything else."""
    kind, _, value = encoded.partition(":")
    if kind == "search_order" and value in SEARCH_ORDER_LABELS:
        return {"search_order": value}
    if kind == "model_version":
        if value == ACTIVE_MODEL:
            return {"model_version": None}
        if value.isdigit():
            return {"model_version": int(value)}
    raise ValueError(f"unknown variant {encoded!r}")


def variant_surface(variant: Mapping) -> str | None:
    """The surface a variant belongs to (None: it is not a variant)."""
    if variant.get("search_order") in SEARCH_ORDER_LABELS and len(variant) == 1:
        return ExperimentSurface.SEARCH
    if "model_version" in variant and len(variant) == 1:
        version = variant["model_version"]
        if version is None or (isinstance(version, int) and not isinstance(version, bool)):
            return ExperimentSurface.RECOMMENDATIONS
    return None


def variant_label(variant: Mapping) -> str:
    if "search_order" in variant:
        return SEARCH_ORDER_LABELS.get(variant["search_order"], str(variant["search_order"]))
    if "model_version" in variant:
        version = variant["model_version"]
        return "the active model" if version is None else f"model v{version}"
    return str(dict(variant))
