"""Which model a training run serves: `train_served`, the one function the product
(training.pipeline) and the offline benchmark (bench.offline_recs) both call.

It tunes the item transitions and the titles' content similarity on validation,
trains the transformer, and compares the candidates on validation NDCG@10: the
transformer, the transitions, their ensemble, and that ensemble with the content
similarity as a third part (each ensemble with the weights best on validation). The
best one is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .baselines import ItemTransitions, TitleTfidf, tune
from .callbacks import ProgressCallback
from .config import ModelConfig
from .data import N_RESERVED, LeaveLastOutSplit
from .features import ItemFeatures
from .metrics import mask_history, ndcg, ranks_from_scores
from .scoring import Recommender, standardised
from .served import COOCCURRENCE_PARAMS, ServedModel
from .trained_model import TrainedModel
from .training import fit

# The transitions' grid offline_recs tuned, plus how many recent items a user scores from.
TRANSITIONS_GRID: dict[str, list[Any]] = {
    "window": [1, 3, 5],
    "backward": [0.0, 0.5],
    "decay": [0.3, 0.6],
    "col_norm": [0.0, 0.3],
    "last": [5, 10, 20],
}
QUICK_TRANSITIONS_GRID: dict[str, list[Any]] = {"window": [1, 3], "decay": [0.6]}
# The content similarity's grid (how fast older items fade; the last 10 count).
CONTENT_GRID: dict[str, list[Any]] = {"decay": [0.3, 0.6, 0.9]}
# The transitions' weight beside the transformer's 1.0 in the ensemble (Amazon Beauty
# chose the lowest, 0.05, at every seed before 0.02 was offered).
ENSEMBLE_WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
QUICK_ENSEMBLE_WEIGHTS = (0.3, 1.0)
# The content's weight beside them (the transitions' may then also be 0).
CONTENT_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
QUICK_CONTENT_WEIGHTS = (0.2,)
# Tuning the baselines reads this many validation users (a fixed random subset).
TUNING_USERS = 6000


@dataclass
class Candidate:
    """One way to serve the run's models, and its validation NDCG@10 (history excluded,
    every validation user)."""

    model: ServedModel
    validation_ndcg: float
    params: dict[str, Any]


@dataclass
class TunedTransitions:
    """A baseline tuned on validation (the item transitions, or the content similarity):
    the model, its parameters, their NDCG@10 on the tuning users, and the seconds
    tuning took."""

    model: Any
    params: dict[str, Any]
    tuning_ndcg: float
    seconds: float


@dataclass
class Selection:
    """Every candidate of a run by name, and the one served (the best on validation)."""

    candidates: dict[str, Candidate]
    served: ServedModel
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def transformer(self) -> TrainedModel:
        return self.served.transformer


def transitions_tune(
    split: LeaveLastOutSplit,
    config: ModelConfig,
    *,
    quick: bool = False,
    log: Callable[[str], None] = print,
) -> TunedTransitions:
    """ItemTransitions with the parameters of the best validation NDCG@10 on a fixed
    subset of at most TUNING_USERS validation users (the grid: TRANSITIONS_GRID)."""
    started = time.perf_counter()
    grid = QUICK_TRANSITIONS_GRID if quick else TRANSITIONS_GRID
    make = _TransitionsMaker(split, config)
    params, tuning_ndcg = tune(
        make, grid, split.val_inputs, split.val_targets, _tuning_rows(split), config.max_len
    )
    model = make(**params)
    seconds = time.perf_counter() - started
    log(f"item transitions tuned: {params} (validation NDCG@10 {tuning_ndcg:.4f}, {seconds:.0f} s)")
    return TunedTransitions(model, model.params, tuning_ndcg, seconds)


def content_tune(
    split: LeaveLastOutSplit,
    features: ItemFeatures,
    config: ModelConfig,
    *,
    quick: bool = False,
    log: Callable[[str], None] = print,
) -> TunedTransitions | None:
    """TitleTfidf over the item features (the transformer's title tokens and
    attribute ids, each only if the config uses it) with the `decay` of the best
    validation NDCG@10 on the tuning users (CONTENT_GRID); None when no item has a
    title token or an attribute."""
    features = features.text_only(config.use_titles, config.use_attributes)
    if not (np.any(features.tokens > 0) or np.any(features.attributes > 0)):
        log("content similarity: no titles or attributes, left out")
        return None
    started = time.perf_counter()
    built = TitleTfidf.from_features(split.train, features, **config.history_encoding())

    def make(**params: Any) -> TitleTfidf:
        return TitleTfidf.from_rows(
            built.x,
            built.counts,
            split.train.item_vocab,
            split.train.event_vocab,
            {**built.params, **params},
            **config.history_encoding(),
        )

    grid = {"decay": [0.6]} if quick else CONTENT_GRID
    params, tuning_ndcg = tune(
        make, grid, split.val_inputs, split.val_targets, _tuning_rows(split), config.max_len
    )
    model = make(**params)
    seconds = time.perf_counter() - started
    log(
        f"content similarity tuned: {params} (validation NDCG@10 {tuning_ndcg:.4f}, {seconds:.0f} s)"
    )
    return TunedTransitions(model, model.params, tuning_ndcg, seconds)


def _tuning_rows(split: LeaveLastOutSplit) -> np.ndarray:
    """The validation users the baselines are tuned on (a fixed random subset)."""
    return np.random.default_rng(0).permutation(split.users_eval)[:TUNING_USERS]


class _TransitionsMaker:
    """ItemTransitions for `tune`, one matrix built per (window, backward, row_norm,
    col_norm): `decay` and `last` only change how a history is scored."""

    def __init__(self, split: LeaveLastOutSplit, config: ModelConfig) -> None:
        self.train, self.config = split.train, config
        self.matrices: dict[tuple, ItemTransitions] = {}

    def __call__(self, **params: Any) -> ItemTransitions:
        key = tuple(params.get(k) for k in ("window", "backward", "row_norm", "col_norm"))
        if key not in self.matrices:
            self.matrices[key] = ItemTransitions(self.train, **params)
        built = self.matrices[key]
        return ItemTransitions.from_matrix(
            built.matrix,
            built.counts,
            self.train.item_vocab,
            self.train.event_vocab,
            {**built.params, **params},
            **self.config.history_encoding(),
        )


def train_served(
    split: LeaveLastOutSplit,
    features: ItemFeatures,
    config: ModelConfig,
    *,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] = print,
    quick: bool = False,
    transitions: TunedTransitions | None = None,
    content: TunedTransitions | None = None,
) -> Selection:
    """Tunes the baselines, trains the transformer, and serves the best candidate.

    The candidates: the transformer, the tuned transitions, their ensemble with the
    weight of the best validation NDCG@10 (ENSEMBLE_WEIGHTS), and, where items have
    titles or attributes, the ensemble with the tuned content similarity as a third
    part (CONTENT_WEIGHTS, the transitions' weight from 0 up). The one served has the
    best validation NDCG@10 over every validation user (history excluded), the
    simpler one on a tie (in that order).

    Args:
        split: The leave-last-out split; everything trains on `split.train`.
        features: Item side features (the transformer's, and the content's).
        config: The transformer's hyperparameters.
        progress: Passed to `fit` (its return value can stop training).
        log: One line per stage.
        quick: Tiny grids (tests, smoke runs).
        transitions / content: Already tuned baselines of this split (a benchmark
            training several seeds tunes them once: tuning does not depend on the seed).
    """
    tuned = transitions or transitions_tune(split, config, quick=quick, log=log)
    if content is None:
        content = content_tune(split, features, config, quick=quick, log=log)
    started = time.perf_counter()
    transformer = fit(split, features, config, progress=progress)
    fitted = time.perf_counter()
    log(
        f"transformer trained: validation NDCG@10 {transformer.metrics['best_val_ndcg@10']:.4f}"
        f" ({transformer.metrics['train_seconds']:.0f} s)"
    )
    models = [transformer, tuned.model] + ([content.model] if content else [])
    blends = candidate_blends(quick, with_content=content is not None)
    # The ensembles' weights are chosen on the tuning users; the candidates are then
    # compared on every validation user.
    tuning = validation_ndcgs(models, split, blends, _tuning_rows(split))
    chosen = _candidate_weights(tuning, with_content=content is not None)
    figures = validation_ndcgs(models, split, chosen)
    cooccurrence = ItemTransitions(split.train, **COOCCURRENCE_PARAMS, **config.history_encoding())
    selection = _selection(transformer, tuned, content, chosen, figures, cooccurrence)
    selection.timings = {
        "tune_transitions": round(tuned.seconds, 2),
        "tune_content": round(content.seconds, 2) if content else 0.0,
        "train_transformer": round(fitted - started, 2),
        "select": round(time.perf_counter() - fitted, 2),
    }
    for name, candidate in selection.candidates.items():
        log(f"  {name}: validation NDCG@10 {candidate.validation_ndcg:.4f} {candidate.params}")
    log(f"served: {selection.served.name}")
    return selection


def candidate_blends(quick: bool = False, with_content: bool = True) -> list[tuple[float, ...]]:
    """The weights (transformer, transitions[, content]) the selection compares: the
    transformer alone, the transitions alone, the transformer with each transitions
    weight, and, with content, the transformer with each content weight and each
    transitions weight from 0 (the content never serves alone: it knows no behaviour)."""
    ensemble = QUICK_ENSEMBLE_WEIGHTS if quick else ENSEMBLE_WEIGHTS
    tail = (0.0,) if with_content else ()
    blends = [(1.0, 0.0, *tail), (0.0, 1.0, *tail)]
    blends += [(1.0, w, *tail) for w in ensemble]
    if with_content:
        for v in QUICK_CONTENT_WEIGHTS if quick else CONTENT_WEIGHTS:
            blends += [(1.0, w, v) for w in (0.0, *ensemble)]
    return blends


def _candidate_weights(
    figures: dict[tuple[float, ...], float], with_content: bool
) -> list[tuple[float, ...]]:
    """The candidates' weights: the transformer alone, the transitions alone, the best
    two-part ensemble in `figures` and, with content, the best ensemble weighing it."""
    tail = (0.0,) if with_content else ()

    def best(blends: list[tuple[float, ...]]) -> tuple[float, ...]:
        return max(blends, key=lambda b: figures[b])  # first of equals

    chosen = [(1.0, 0.0, *tail), (0.0, 1.0, *tail)]
    chosen.append(best([b for b in figures if b[0] == 1.0 and b[1] > 0 and not any(b[2:])]))
    if with_content:
        chosen.append(best([b for b in figures if len(b) == 3 and b[2] > 0]))
    return chosen


def validation_ndcgs(
    models: Sequence[Recommender],
    split: LeaveLastOutSplit,
    blends: Sequence[tuple[float, ...]],
    users: np.ndarray | None = None,
) -> dict[tuple[float, ...], float]:
    """Validation NDCG@10 (history excluded) of each blend of `models` (weights in the
    models' order) over `users` (default: every validation user).

    A blend with one non-zero weight ranks as that model alone; one with several ranks
    their weighted standardised scores, as `Blend` does. One pass: each batch is scored
    once by each model, and every blend ranks the same standardised matrices. The
    figures are those `evaluate` gives.
    """
    first = models[0]
    inputs, targets = split.val_inputs, split.val_targets
    users = split.users_eval if users is None else np.asarray(users)
    rows = users[np.argsort(inputs.lengths()[users], kind="stable")]
    gains = dict.fromkeys(blends, 0.0)
    batch_size = getattr(getattr(first, "config", None), "eval_batch_size", 1024)
    for start in range(0, len(rows), batch_size):
        idx = rows[start : start + batch_size]
        batch = inputs.batch(idx, first.max_len, first.n_gap_buckets)
        histories = [inputs.items[r] for r in idx]
        wanted = targets[idx].astype(np.int64)
        raw = [model.score(batch) for model in models]
        z = [standardised(scores) for scores in raw]
        for weights in blends:
            used = [i for i, w in enumerate(weights) if w > 0]
            if len(used) == 1:
                scores = raw[used[0]]
            else:
                scores = np.full(raw[0].shape, -np.inf, dtype=np.float32)
                scores[:, N_RESERVED:] = sum(weights[i] * z[i] for i in used)
            gains[weights] += _ndcg_sum(scores, histories, wanted)
    return {key: total / max(len(rows), 1) for key, total in gains.items()}


def _ndcg_sum(scores: np.ndarray, histories: list[np.ndarray], targets: np.ndarray) -> float:
    """Sum over the rows of NDCG@10 of the target, ranked as `evaluate` ranks it."""
    ranked = np.array(scores, dtype=np.float32)
    ranked[:, :N_RESERVED] = -np.inf
    mask_history(ranked, histories)
    ranks = ranks_from_scores(ranked, targets)
    return ndcg(ranks, 10) * len(ranks)


def _selection(
    transformer: TrainedModel,
    tuned: TunedTransitions,
    content: TunedTransitions | None,
    chosen: list[tuple[float, ...]],
    figures: dict[tuple[float, ...], float],
    cooccurrence: ItemTransitions,
) -> Selection:
    """The candidates (`chosen`: their weights, simplest first) and the best of them on
    `figures` (the simpler one on a tie)."""
    params: list[dict[str, Any]] = [{}, dict(tuned.params), {"transitions_weight": chosen[2][1]}]
    if content is not None:
        three = chosen[3]
        params.append(
            {
                "transitions_weight": three[1],
                "content_weight": three[2],
                "content": dict(content.params),
            }
        )
    served_weights = max(chosen, key=lambda w: figures[w])  # first of equals: simpler
    content_model = content.model if content is not None else None
    models = [
        ServedModel(transformer, tuned.model, weights, None, cooccurrence, content_model)
        for weights in chosen
    ]
    validation = {
        model.name: {
            "kind": model.kind,
            "validation_ndcg@10": figures[weights],
            "params": candidate_params,
            "served": weights == served_weights,
        }
        for weights, candidate_params, model in zip(chosen, params, models, strict=True)
    }
    candidates = {}
    for weights, candidate_params, model in zip(chosen, params, models, strict=True):
        model.validation = validation
        candidates[model.name] = Candidate(model, figures[weights], candidate_params)
    return Selection(candidates, models[chosen.index(served_weights)])
