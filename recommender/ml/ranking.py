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
from functools import cached_property
from itertools import combinations

import numpy as np
from scipy.optimize import minimize

# The features the storefront's personalizer computes for every candidate:
# text relevance, the served model's affinity (user . item vector), popularity, the
# largest cosine to the shopper's latest products, already bought, the share of the
# shopper's latest products of the candidate's brand, and how often the shopper's
# latest products were bought by the same shoppers as the candidate (co-occurrence).
LIVE_FEATURES = (
    "text",
    "affinity",
    "popularity",
    "similarity",
    "bought",
    "brand",
    "co_bought",
)
# Features whose pairwise products (and squares) the live blend also weighs: "relevant
# AND close to your taste" is not a sum of the two (amazon_scientific, validation
# queries: MRR +1.7% over the same features without them). "bought" stays linear.
INTERACTING = ("text", "affinity", "popularity", "similarity", "brand", "co_bought")
# Until clicks have taught a blend: learned on amazon_scientific's validation searches
# through the live path (bench/search_quality.py, 2026-11-30: test MRR 1.528x lexical;
# docs/search.md). Each term's weight; "a*b" a product, "a^2" a square.
DEFAULT_WEIGHTS = {
    "text": 0.277,
    "affinity": 0.313,
    "popularity": 0.061,
    "similarity": 0.087,
    "bought": -0.76,
    "brand": 0.336,
    "co_bought": 0.257,
    "text*affinity": -0.026,
    "text*popularity": 0.055,
    "text*similarity": 0.029,
    "text*brand": 0.002,
    "text*co_bought": 0.021,
    "affinity*popularity": -0.034,
    "affinity*similarity": -0.047,
    "affinity*brand": -0.03,
    "affinity*co_bought": 0.019,
    "popularity*similarity": 0.018,
    "popularity*brand": -0.064,
    "popularity*co_bought": -0.048,
    "similarity*brand": 0.023,
    "similarity*co_bought": 0.008,
    "brand*co_bought": 0.073,
    "text^2": -0.093,
    "affinity^2": 0.08,
    "popularity^2": 0.159,
    "similarity^2": 0.051,
    "brand^2": -0.033,
    "co_bought^2": -0.027,
}


def standardize(features: np.ndarray) -> np.ndarray:
    """Per-list standardisation of a (candidates, features) matrix."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) == 0:
        return features
    centred = features - features.mean(axis=0, keepdims=True)
    spread = centred.std(axis=0, keepdims=True)
    return np.where(spread > 1e-9, centred / np.maximum(spread, 1e-9), 0.0)


def blend_terms(names: Sequence[str], interacting: Sequence[str]) -> tuple[str, ...]:
    """The blend's terms: each feature, then "a*b" for each pair of interacting
    features and "a^2" for each interacting one."""
    inter = [n for n in names if n in interacting]
    pairs = [f"{a}*{b}" for a, b in combinations(inter, 2)]
    return (*names, *pairs, *(f"{n}^2" for n in inter))


def expand(standardized: np.ndarray, names: Sequence[str], interacting: Sequence[str]):
    """(candidates, terms) values of ``blend_terms`` from standardised features."""
    columns = [k for k, n in enumerate(names) if n in interacting]
    if not columns:
        return standardized
    z = standardized[:, columns]
    first, second = np.triu_indices(len(columns), k=1)
    return np.hstack([standardized, z[:, first] * z[:, second], z * z])


@dataclass
class BlendModel:
    """Weights over named features and their interactions;
    score = expand(standardize(features)) @ weights (``terms`` names each weight)."""

    names: tuple[str, ...]
    weights: np.ndarray
    info: dict = field(default_factory=dict)
    interacting: tuple[str, ...] = ()

    @property
    def terms(self) -> tuple[str, ...]:
        return blend_terms(self.names, self.interacting)

    def term_values(self, features: np.ndarray) -> np.ndarray:
        """(candidates, terms) values each weight multiplies."""
        return expand(standardize(features), self.names, self.interacting)

    def score(self, features: np.ndarray) -> np.ndarray:
        return self.term_values(features) @ self.weights

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """(candidates, features) each feature's share of the score: its own term, its
        square and half of each product it is part of (rows sum to the score)."""
        return self.term_values(features) @ self._shares

    @cached_property
    def _shares(self) -> np.ndarray:
        """(terms, features) weight of each term given to each feature."""
        share = np.zeros((len(self.terms), len(self.names)))
        index = {n: k for k, n in enumerate(self.names)}
        for t, term in enumerate(self.terms):
            factors = term.removesuffix("^2").split("*")
            for factor in factors:
                share[t, index[factor]] += self.weights[t] / len(factors)
        return share

    def as_dict(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.terms, self.weights, strict=True)}

    @classmethod
    def from_dict(
        cls,
        weights: dict[str, float],
        names: Sequence[str] = LIVE_FEATURES,
        interacting: Sequence[str] = INTERACTING,
    ) -> BlendModel:
        """A blend from stored weights; a term the dict lacks (a blend learned before a
        feature existed) weighs 0."""
        terms = blend_terms(names, interacting)
        values = np.array([float(weights.get(t, 0.0)) for t in terms])
        return cls(tuple(names), values, interacting=tuple(interacting))


class _StackedLists:
    """Every usable query's standardised candidates in one matrix, with the offsets that
    segment it back into queries (so the loss is a few vectorised reductions)."""

    def __init__(self, lists, targets, sample_weights, names=(), interacting=()) -> None:
        kept = [
            (expand(standardize(x), names, interacting), t)
            for x, t in zip(lists, targets, strict=True)
            if len(x) > 1
        ]
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
    interacting: Sequence[str] = (),
) -> BlendModel:
    """Listwise learning to rank of a linear blend.

    Args:
        lists: Per query, a (candidates, features) matrix.
        targets: Per query, the row of the relevant candidate (clicked or bought).
        names: Feature names, one per column.
        l2: Ridge penalty on the weights.
        sample_weights: Optional weight of each query in the loss.
        interacting: Features whose pairwise products and squares are terms too.

    Returns:
        The fitted BlendModel; ``info`` holds the queries used and the final loss.
    """
    stacked = _StackedLists(lists, targets, sample_weights, names, interacting)
    terms = blend_terms(names, interacting)
    result = minimize(
        stacked.loss_and_grad, np.zeros(len(terms)), args=(l2,), jac=True, method="L-BFGS-B"
    )
    return BlendModel(
        tuple(names),
        result.x,
        {"queries": stacked.queries, "loss": float(result.fun), "converged": bool(result.success)},
        tuple(n for n in interacting if n in names),
    )
