"""Learning the search blend: a linear score over per-candidate features, fitted
listwise (softmax cross-entropy of the clicked/target product among the candidates).

Pure NumPy/SciPy: the offline benchmark fits it on validation queries, and the
click-log service (recommender.search_blend.search_blend_learn_from_clicks) fits it on
logged searches; RecommenderPersonalizer scores with the weights it stores.

Features are standardised per list (mean 0, unit spread within each query's
candidates), so a weight means the same for a query with 5 candidates and one with 200,
and a feature that is constant within a list (no affinity for this shopper) adds 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

# The features the storefront's personalizer computes for every candidate.
LIVE_FEATURES = ("text", "affinity", "popularity", "similarity", "bought")
# Until clicks have taught a blend: tuned offline (bench/search_quality.py on
# amazon_scientific's validation queries; see the README).
DEFAULT_WEIGHTS = {
    "text": 0.19,
    "affinity": 0.35,
    "popularity": 0.36,
    "similarity": 0.31,
    "bought": -0.57,
}


def standardize(features: np.ndarray) -> np.ndarray:
    """Per-list standardisation of a (candidates, features) matrix."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) == 0:
        return features
    centred = features - features.mean(axis=0, keepdims=True)
    spread = centred.std(axis=0, keepdims=True)
    return np.where(spread > 1e-9, centred / np.maximum(spread, 1e-9), 0.0)


@dataclass
class BlendModel:
    """Weights over named features; score = standardize(features) @ weights."""

    names: tuple[str, ...]
    weights: np.ndarray
    info: dict = field(default_factory=dict)

    def score(self, features: np.ndarray) -> np.ndarray:
        return standardize(features) @ self.weights

    def as_dict(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.names, self.weights, strict=True)}

    @classmethod
    def from_dict(cls, weights: dict[str, float], names: Sequence[str] = LIVE_FEATURES):
        return cls(tuple(names), np.array([float(weights.get(n, 0.0)) for n in names]))


class _StackedLists:
    """Every usable query's standardised candidates in one matrix, with the offsets that
    segment it back into queries (so the loss is a few vectorised reductions)."""

    def __init__(self, lists, targets, sample_weights) -> None:
        kept = [(standardize(x), t) for x, t in zip(lists, targets, strict=True) if len(x) > 1]
        if not kept:
            raise ValueError("no query with two or more candidates to learn from")
        self.queries = len(kept)
        self.query_weights = (
            np.ones(len(kept))
            if sample_weights is None
            else np.asarray(
                [w for x, w in zip(lists, sample_weights, strict=True) if len(x) > 1], dtype=float
            )
        )
        sizes = np.array([len(x) for x, _ in kept])
        self.features = np.concatenate([x for x, _ in kept])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.target_rows = self.offsets + np.array([t for _, t in kept])
        self.segment = np.repeat(np.arange(len(kept)), sizes)

    def loss_and_grad(self, w: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
        """Weighted mean softmax cross-entropy of the targets, plus the ridge penalty."""
        s = self.features @ w
        top = np.maximum.reduceat(s, self.offsets)
        e = np.exp(s - top[self.segment])
        z = np.add.reduceat(e, self.offsets)
        logz = np.log(z) + top
        total = self.query_weights.sum()
        loss = (self.query_weights * (logz - s[self.target_rows])).sum() / total + l2 * w @ w
        p = e / z[self.segment]
        expected = np.zeros((self.queries, len(w)))
        np.add.at(expected, self.segment, p[:, None] * self.features)
        difference = expected - self.features[self.target_rows]
        grad = (self.query_weights[:, None] * difference).sum(0) / total
        return loss, grad + 2 * l2 * w


def fit_blend(
    lists: Sequence[np.ndarray],
    targets: Sequence[int],
    names: Sequence[str],
    *,
    l2: float = 1e-3,
    sample_weights: Sequence[float] | None = None,
) -> BlendModel:
    """Listwise learning to rank of a linear blend.

    Args:
        lists: Per query, a (candidates, features) matrix.
        targets: Per query, the row of the relevant candidate (clicked or bought).
        names: Feature names, one per column.
        l2: Ridge penalty on the weights.
        sample_weights: Optional weight of each query in the loss.

    Returns:
        The fitted BlendModel; ``info`` holds the queries used and the final loss.
    """
    stacked = _StackedLists(lists, targets, sample_weights)
    result = minimize(
        stacked.loss_and_grad, np.zeros(len(names)), args=(l2,), jac=True, method="L-BFGS-B"
    )
    return BlendModel(
        tuple(names),
        result.x,
        {"queries": stacked.queries, "loss": float(result.fun), "converged": bool(result.success)},
    )
