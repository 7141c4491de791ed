"""One evaluator for every model: full ranking, optional 99-negatives protocol.

A model is anything with `score(batch: Batch) -> (users, n_items) float array` over
internal item ids (columns 0 and 1, padding and OOV, are never ranked).

Ranks are pessimistic: an item tied with the target counts as ranked above it, so a
model that gives many items the same score (a count-based baseline) is not flattered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from .data import N_RESERVED, Batch, SequenceData
from .segments import NEW_PRODUCT_MAX_TRAINING_EVENTS, POPULAR_SHARE_OF_CATALOGUE, SEGMENTS

MODES = ("history_excluded", "no_exclusion")


class Scorer(Protocol):
    def score(self, batch: Batch) -> np.ndarray: ...


def ranks_from_scores(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among the row's scores (ties count against).

    A target whose score is -inf (excluded) gets the rank n_columns (a miss).
    """
    rows = np.arange(len(targets))
    t = scores[rows, targets][:, None]
    greater = (scores > t).sum(axis=1)
    ties = (scores == t).sum(axis=1) - 1
    ranks = greater + ties
    ranks[~np.isfinite(t[:, 0])] = scores.shape[1]
    return ranks


def hit_rate(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ranks < k)) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    """NDCG@k with one relevant item: 1/log2(rank+2) inside the top k."""
    if not len(ranks):
        return 0.0
    gains = np.where(ranks < k, 1.0 / np.log2(ranks.astype(np.float64) + 2.0), 0.0)
    return float(gains.mean())


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / (ranks.astype(np.float64) + 1.0))) if len(ranks) else 0.0


def rank_metrics(ranks: np.ndarray, ks: Sequence[int]) -> dict[str, Any]:
    """HR, NDCG, Precision, Recall @k and MRR from target ranks (one target per user)."""
    out: dict[str, Any] = {"users": len(ranks)}
    for k in ks:
        hr = hit_rate(ranks, k)
        out[f"hr@{k}"] = hr
        out[f"ndcg@{k}"] = ndcg(ranks, k)
        out[f"precision@{k}"] = hr / k
        out[f"recall@{k}"] = hr
    out["mrr"] = mrr(ranks)
    return out


def most_popular_mask(
    item_counts: np.ndarray, share: float = POPULAR_SHARE_OF_CATALOGUE
) -> np.ndarray:
    """True for the ``share`` most popular rankable items (at least one): the highest
    training counts, ties broken by the lower internal id. Padding and OOV are never in."""
    counts = np.asarray(item_counts)
    mask = np.zeros(len(counts), dtype=bool)
    n_rankable = len(counts) - N_RESERVED
    if n_rankable <= 0:
        return mask
    n_top = max(1, int(np.ceil(share * n_rankable)))
    order = np.argsort(-counts[N_RESERVED:], kind="stable")[:n_top]
    mask[order + N_RESERVED] = True
    return mask


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first (ties: lower index first)."""
    # TensorFlow's top-k is multi-threaded and much faster than np.argpartition here.
    k = min(k, scores.shape[1])
    return tf.math.top_k(tf.convert_to_tensor(scores, tf.float32), k=k, sorted=True).indices.numpy()


def mask_history(scores: np.ndarray, histories: Sequence[np.ndarray]) -> None:
    """Sets the scores of each user's earlier items to -inf, in place."""
    rows = (
        np.concatenate([np.full(len(h), i) for i, h in enumerate(histories)]) if histories else []
    )
    cols = np.concatenate(histories) if histories else []
    if len(rows):
        scores[rows.astype(np.int64), np.asarray(cols, dtype=np.int64)] = -np.inf


def evaluate(
    model: Scorer,
    inputs: SequenceData,
    targets: np.ndarray,
    rows: Sequence[int] | np.ndarray | None = None,
    *,
    max_len: int = 50,
    n_gap_buckets: int = 16,
    ks: Sequence[int] = (10, 20),
    modes: Sequence[str] = MODES,
    item_counts: np.ndarray | None = None,
    sampled_negatives: int = 0,
    seed: int = 0,
    batch_size: int = 1024,
    with_top_k: bool = True,
) -> dict[str, dict[str, Any]]:
    """Scores every evaluated user against all items and aggregates the metrics.

    Args:
        model: The scorer.
        inputs: Histories the model reads (e.g. split.test_inputs).
        targets: Internal target item id per row of `inputs`.
        rows: Rows to evaluate (default: all rows with a target).
        max_len: History length the batches are truncated to.
        n_gap_buckets: Gap buckets of the batches (see `data.gap_buckets`).
        ks: Cut-offs.
        modes: "history_excluded" (the user's earlier items are not ranked) and/or
            "no_exclusion".
        item_counts: Training events per item, for the popularity metrics and the
            new / known product segments.
        sampled_negatives: If > 0, also report the old sampled protocol (target vs
            this many uniformly drawn items the user has not interacted with), under
            the key "sampled".
        seed: Seed of the negative sampling.
        batch_size: Users per scoring batch.
        with_top_k: Compute coverage and popularity bias (needs each user's top-K;
            early stopping skips it to save time).

    Returns:
        {mode: metrics}; metrics hold users, hr@k, ndcg@k, precision@k, recall@k, mrr,
        coverage@k, popularity_bias@k, popular_share@k, segments {cold, warm, hot},
        products {new, known} and maybe sampled.
        popularity_bias@k is the mean training count of recommended items divided by
        the mean training count of all items (1.0 = no popularity bias).
        popular_share@k is the share of the recommended slots (those with a finite
        score) taken by the most popular 10% of the catalogue (`most_popular_mask`;
        0.1 = no more than their share of the catalogue).
        segments split the shoppers by the length of the history the model reads
        (cold 0-3 events, warm 4-10, hot 11+); products split them by their target:
        "new" when it has at most NEW_PRODUCT_MAX_TRAINING_EVENTS training events in
        ``item_counts`` (0: first seen after the training cutoff), "known" otherwise
        (only with ``item_counts``). Each holds the rank metrics and "users"; a segment
        without users has None for every metric (not 0: nothing was measured).
    """
    rows = _rows_by_length(inputs, targets, rows)
    tally = _RankingTally(inputs, targets, rows, modes, ks, item_counts, sampled_negatives, seed)
    for start in range(0, len(rows), batch_size):
        batch = inputs.batch(rows[start : start + batch_size], max_len, n_gap_buckets)
        tally.add_batch(model.score(batch), start, with_top_k)
    return {mode: tally.metrics(mode, with_top_k) for mode in modes}


def _rows_by_length(
    inputs: SequenceData, targets: np.ndarray, rows: Sequence[int] | np.ndarray | None
) -> np.ndarray:
    """The rows to evaluate (default: every row with a target), shortest history first.

    Batches of similar history lengths are narrower, hence cheaper to score; the
    metrics are aggregates, so the order does not matter.
    """
    if rows is None:
        rows = np.flatnonzero(targets >= N_RESERVED)
    rows = np.asarray(rows, dtype=np.int64)
    return rows[np.argsort(inputs.lengths()[rows], kind="stable")]


class _RankingTally:
    """Per mode, what `evaluate` aggregates over the batches of `rows` (in that order)."""

    def __init__(
        self,
        inputs: SequenceData,
        targets: np.ndarray,
        rows: np.ndarray,
        modes: Sequence[str],
        ks: Sequence[int],
        item_counts: np.ndarray | None,
        sampled_negatives: int,
        seed: int,
    ) -> None:
        self.inputs, self.targets, self.rows, self.modes, self.ks = inputs, targets, rows, modes, ks
        self.sampled_negatives, self.rng = sampled_negatives, np.random.default_rng(seed)
        self.n_items = len(inputs.item_vocab)
        self.counts = item_counts.astype(np.float64) if item_counts is not None else None
        has_items = self.counts is not None and self.n_items > N_RESERVED
        self.mean_count = self.counts[N_RESERVED:].mean() if has_items else 1.0
        self.popular = most_popular_mask(self.counts) if self.counts is not None else None
        n_rows = len(rows)
        self.ranks = {mode: np.zeros(n_rows, dtype=np.int64) for mode in modes}
        self.sampled_ranks = {mode: np.zeros(n_rows, dtype=np.int64) for mode in modes}
        self.covered = {mode: {k: np.zeros(self.n_items, dtype=bool) for k in ks} for mode in modes}
        # Per mode and k: the sum over users of the mean training count of their top k.
        self.recommended_counts = {mode: dict.fromkeys(ks, 0.0) for mode in modes}
        # Per mode and k: recommended slots, and those taken by the most popular items.
        self.slots = {mode: dict.fromkeys(ks, 0) for mode in modes}
        self.popular_slots = {mode: dict.fromkeys(ks, 0) for mode in modes}

    def add_batch(self, model_scores: np.ndarray, start: int, with_top_k: bool) -> None:
        """Ranks (and top-K, sampled ranks) of the rows from `start` the scores are for."""
        base = np.asarray(model_scores, dtype=np.float32).copy()
        base[:, :N_RESERVED] = -np.inf  # padding and OOV are never ranked
        where = slice(start, start + len(base))
        idx = self.rows[where]
        targets = self.targets[idx].astype(np.int64)
        for mode in self.modes:
            scores = base.copy() if mode == "history_excluded" and len(self.modes) > 1 else base
            if mode == "history_excluded":
                mask_history(scores, [self.inputs.items[r] for r in idx])
            self.ranks[mode][where] = ranks_from_scores(scores, targets)
            if with_top_k:
                self._add_top_k(mode, scores)
            if self.sampled_negatives:
                self.sampled_ranks[mode][where] = _sampled_ranks(
                    scores, targets, self.inputs, idx, self.sampled_negatives, self.rng
                )

    def _add_top_k(self, mode: str, scores: np.ndarray) -> None:
        top = top_k_indices(scores, max(self.ks))
        for k in self.ks:
            self.covered[mode][k][top[:, :k].ravel()] = True
            if self.counts is not None:
                self.recommended_counts[mode][k] += self.counts[top[:, :k]].mean(axis=1).sum()
                # Only real recommendations: with few items left, a top-k holds -inf ones.
                real = np.isfinite(np.take_along_axis(scores, top[:, :k], axis=1))
                self.slots[mode][k] += int(real.sum())
                self.popular_slots[mode][k] += int((self.popular[top[:, :k]] & real).sum())

    def metrics(self, mode: str, with_top_k: bool) -> dict[str, Any]:
        """The metrics of one mode, overall and per segment of history length."""
        metrics = rank_metrics(self.ranks[mode], self.ks)
        if with_top_k:
            metrics.update(self._top_k_metrics(mode))
        lengths = self.inputs.lengths()[self.rows]
        metrics["segments"] = {
            name: self._segment_metrics(mode, (lengths >= low) & (lengths <= high))
            for name, (low, high) in SEGMENTS.items()
        }
        if self.counts is not None:
            new = self.counts[self.targets[self.rows]] <= NEW_PRODUCT_MAX_TRAINING_EVENTS
            metrics["products"] = {
                "new": self._segment_metrics(mode, new),
                "known": self._segment_metrics(mode, ~new),
            }
        if self.sampled_negatives:
            metrics["sampled"] = rank_metrics(self.sampled_ranks[mode], (10,))
            metrics["sampled"]["negatives"] = self.sampled_negatives
        return metrics

    def _top_k_metrics(self, mode: str) -> dict[str, float]:
        out = {}
        for k in self.ks:
            covered = self.covered[mode][k][N_RESERVED:]
            out[f"coverage@{k}"] = float(covered.mean()) if self.n_items > N_RESERVED else 0.0
            if self.counts is not None and len(self.rows):
                mean_recommended = self.recommended_counts[mode][k] / len(self.rows)
                out[f"popularity_bias@{k}"] = float(mean_recommended / max(self.mean_count, 1e-12))
                slots = self.slots[mode][k]
                out[f"popular_share@{k}"] = self.popular_slots[mode][k] / slots if slots else None
        return out

    def _segment_metrics(self, mode: str, selected: np.ndarray) -> dict[str, Any]:
        segment = rank_metrics(self.ranks[mode][selected], self.ks)
        if not segment["users"]:
            return {key: (None if key != "users" else 0) for key in segment}
        if self.sampled_negatives:
            segment["sampled"] = rank_metrics(self.sampled_ranks[mode][selected], (10,))
        return segment


def _sampled_ranks(
    scores: np.ndarray,
    targets: np.ndarray,
    inputs: SequenceData,
    idx: np.ndarray,
    n_neg: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rank of the target among itself and `n_neg` items the user never interacted with."""
    n_items = scores.shape[1]
    out = np.zeros(len(idx), dtype=np.int64)
    for i, r in enumerate(idx):
        seen = set(inputs.items[r].tolist())
        seen.add(int(targets[i]))
        negs: list[int] = []
        while len(negs) < n_neg:
            draw = rng.integers(N_RESERVED, n_items, size=2 * n_neg)
            negs.extend(int(d) for d in draw if d not in seen)
        negs = negs[:n_neg]
        t = scores[i, targets[i]]
        neg = scores[i, negs]
        # The history mask may have set the target to -inf; then it is a miss.
        out[i] = n_neg if not np.isfinite(t) else int((neg >= t).sum())
    return out
