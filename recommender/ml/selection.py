"""Which model a training run serves: `train_served`, the one function the product
(training.pipeline) and the offline benchmark (bench.offline_recs) both call.

It tunes the item transitions on validation, trains the transformer, and compares
three candidates on validation NDCG@10: the transformer, the transitions, and their
ensemble with the weight that is best on validation. The best one is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .baselines import ItemTransitions, tune
from .callbacks import ProgressCallback
from .config import ModelConfig
from .data import N_RESERVED, LeaveLastOutSplit
from .features import ItemFeatures
from .metrics import mask_history, ndcg, ranks_from_scores
from .scoring import standardised
from .served import (
    COOCCURRENCE_PARAMS,
    ENSEMBLE,
    KIND_NAMES,
    TRANSFORMER,
    TRANSITIONS,
    ServedModel,
)
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
# The transitions' weight beside the transformer's 1.0 in the ensemble.
ENSEMBLE_WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
QUICK_ENSEMBLE_WEIGHTS = (0.3, 1.0)
# Tuning the transitions reads this many validation users (a fixed random subset).
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
    """ItemTransitions tuned on validation: the model, its parameters, their NDCG@10 on
    the tuning users, and the seconds tuning took."""

    model: ItemTransitions
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
    rows = np.random.default_rng(0).permutation(split.users_eval)[:TUNING_USERS]
    grid = QUICK_TRANSITIONS_GRID if quick else TRANSITIONS_GRID
    make = _TransitionsMaker(split, config)
    params, tuning_ndcg = tune(
        make, grid, split.val_inputs, split.val_targets, rows, config.max_len
    )
    model = make(**params)
    seconds = time.perf_counter() - started
    log(f"item transitions tuned: {params} (validation NDCG@10 {tuning_ndcg:.4f}, {seconds:.0f} s)")
    return TunedTransitions(model, model.params, tuning_ndcg, seconds)


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
) -> Selection:
    """Tunes the transitions, trains the transformer, and serves the best candidate.

    The candidates: the transformer, the tuned transitions, and their ensemble with
    the weight of the best validation NDCG@10 (ENSEMBLE_WEIGHTS); the one served has
    the best validation NDCG@10 over every validation user (history excluded), the
    simpler one on a tie (transformer, then transitions, then ensemble).

    Args:
        split: The leave-last-out split; everything trains on `split.train`.
        features: Item side features (the transformer's).
        config: The transformer's hyperparameters.
        progress: Passed to `fit` (its return value can stop training).
        log: One line per stage.
        quick: Tiny grids (tests, smoke runs).
        transitions: Already tuned transitions of this split (a benchmark training
            several seeds tunes them once: tuning does not depend on the seed).
    """
    tuned = transitions or transitions_tune(split, config, quick=quick, log=log)
    started = time.perf_counter()
    transformer = fit(split, features, config, progress=progress)
    fitted = time.perf_counter()
    log(
        f"transformer trained: validation NDCG@10 {transformer.metrics['best_val_ndcg@10']:.4f}"
        f" ({transformer.metrics['train_seconds']:.0f} s)"
    )
    weights = QUICK_ENSEMBLE_WEIGHTS if quick else ENSEMBLE_WEIGHTS
    figures = validation_ndcgs(transformer, tuned.model, split, weights)
    cooccurrence = ItemTransitions(split.train, **COOCCURRENCE_PARAMS, **config.history_encoding())
    selection = _selection(transformer, tuned, figures, cooccurrence)
    selection.timings = {
        "tune_transitions": round(tuned.seconds, 2),
        "train_transformer": round(fitted - started, 2),
        "select": round(time.perf_counter() - fitted, 2),
    }
    for name, candidate in selection.candidates.items():
        log(f"  {name}: validation NDCG@10 {candidate.validation_ndcg:.4f} {candidate.params}")
    log(f"served: {selection.served.name}")
    return selection


def validation_ndcgs(
    transformer: TrainedModel,
    transitions: ItemTransitions,
    split: LeaveLastOutSplit,
    weights: Sequence[float],
) -> dict[Any, float]:
    """Validation NDCG@10 (history excluded, every validation user) of the transformer,
    the transitions and each ensemble `Blend([transformer, transitions], [1, w])`.

    One pass: each batch is scored once by each component, and every ensemble weight
    ranks the same two standardised matrices. The figures are those `evaluate` gives.

    Returns:
        {TRANSFORMER: ndcg, TRANSITIONS: ndcg, w: ndcg for each w in `weights`}.
    """
    inputs, targets = split.val_inputs, split.val_targets
    rows = split.users_eval[np.argsort(inputs.lengths()[split.users_eval], kind="stable")]
    gains: dict[Any, float] = dict.fromkeys([TRANSFORMER, TRANSITIONS, *weights], 0.0)
    batch_size = transformer.config.eval_batch_size
    for start in range(0, len(rows), batch_size):
        idx = rows[start : start + batch_size]
        batch = inputs.batch(idx, transformer.max_len, transformer.n_gap_buckets)
        histories = [inputs.items[r] for r in idx]
        wanted = targets[idx].astype(np.int64)
        by_transformer, by_transitions = transformer.score(batch), transitions.score(batch)
        gains[TRANSFORMER] += _ndcg_sum(by_transformer, histories, wanted)
        gains[TRANSITIONS] += _ndcg_sum(by_transitions, histories, wanted)
        z_transformer, z_transitions = standardised(by_transformer), standardised(by_transitions)
        for w in weights:
            blended = np.full(by_transformer.shape, -np.inf, dtype=np.float32)
            blended[:, N_RESERVED:] = 1.0 * z_transformer + w * z_transitions
            gains[w] += _ndcg_sum(blended, histories, wanted)
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
    figures: dict[Any, float],
    cooccurrence: ItemTransitions,
) -> Selection:
    """The three candidates (the ensemble with its best weight) and the best of them."""
    ensemble_weights = [key for key in figures if key not in (TRANSFORMER, TRANSITIONS)]
    best_weight = max(ensemble_weights, key=lambda w: figures[w])  # first of equals
    made = [
        (TRANSFORMER, (1.0, 0.0), figures[TRANSFORMER], {}),
        (TRANSITIONS, (0.0, 1.0), figures[TRANSITIONS], dict(tuned.params)),
        (ENSEMBLE, (1.0, best_weight), figures[best_weight], {"transitions_weight": best_weight}),
    ]
    served_kind = max(made, key=lambda m: m[2])[0]  # first of equals: the simpler one
    validation = {
        KIND_NAMES[kind]: {
            "kind": kind,
            "validation_ndcg@10": value,
            "params": params,
            "served": kind == served_kind,
        }
        for kind, _, value, params in made
    }
    candidates = {
        KIND_NAMES[kind]: Candidate(
            ServedModel(transformer, tuned.model, weights, validation, cooccurrence),
            value,
            params,
        )
        for kind, weights, value, params in made
    }
    return Selection(candidates, candidates[KIND_NAMES[served_kind]].model)
