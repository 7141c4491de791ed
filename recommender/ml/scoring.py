"""Top-K scoring shared by the transformer and the baselines.

Every recommender implements `score(batch) -> (users, n_items)` over internal ids
and `reasons(batch, recommended) -> (users, k)` internal history item ids (0 = no
reason). `Recommender.top_k` adds the masks (the user's history, items that cannot
be sold, per-user exclusions) and maps raw ids in and out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from .data import N_RESERVED, Batch, SequenceData, Vocabulary


def encode_histories(
    histories: Sequence[Sequence[Any]],
    item_vocab: Vocabulary,
    event_vocab: Vocabulary,
    timestamps: Sequence[Sequence[float]] | None = None,
    events: Sequence[Sequence[Any]] | None = None,
) -> SequenceData:
    """Raw histories (item ids in time order) -> SequenceData; unknown ids become OOV.

    Unknown event types map to the first known one (a model has no embedding for
    them); missing event types likewise.
    """
    default_event = event_vocab.values[0] if event_vocab.values else "event"
    default_id = event_vocab.index.get(default_event, 1)
    items, event_ids, times = [], [], []
    for user, history in enumerate(histories):
        items.append(item_vocab.encode(history))
        raw_events = events[user] if events is not None else [default_event] * len(history)
        ids = [event_vocab.index.get(event, default_id) for event in raw_events]
        event_ids.append(np.array(ids, dtype=np.int32))
        if timestamps is not None:
            times.append(np.asarray(timestamps[user], dtype=np.float64))
    return SequenceData(
        users=list(range(len(histories))),
        items=items,
        events=event_ids,
        timestamps=times if timestamps is not None else None,
        item_vocab=item_vocab,
        event_vocab=event_vocab,
    )


class Recommender(ABC):
    """Base of every model: masks, top-K and raw-id mapping.

    Subclasses set `item_vocab`, `event_vocab`, `max_len`, `n_gap_buckets` and
    implement `score`; `reasons` is optional.
    """

    name = "recommender"
    kind = "baseline"
    item_vocab: Vocabulary
    event_vocab: Vocabulary
    max_len: int = 50
    n_gap_buckets: int = 16

    @abstractmethod
    def score(self, batch: Batch) -> np.ndarray:
        """(users, items) scores over internal item ids for a batch of histories."""

    def masked_top_k(
        self, batch: Batch, bias: np.ndarray, where: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of score + bias with the (row, item) pairs in `where` excluded.

        Masks and top-K run in TensorFlow: no (users x items) copies in NumPy.
        """
        scores = self.score_tensor(batch) + tf.constant(bias)[None, :]
        if len(where):
            scores = tf.tensor_scatter_nd_update(
                scores, where, tf.fill([len(where)], tf.constant(-np.inf, scores.dtype))
            )
        best = tf.math.top_k(scores, k=k, sorted=True)
        return best.indices.numpy(), best.values.numpy()

    def score_tensor(self, batch: Batch) -> tf.Tensor:
        """`score` as a float32 tensor (models that score in TensorFlow override it)."""
        return tf.convert_to_tensor(np.asarray(self.score(batch), dtype=np.float32))

    def reasons(self, batch: Batch, recommended: np.ndarray) -> np.ndarray:
        """History item (internal id) that contributed most to each recommendation."""
        return np.zeros_like(recommended)

    def top_k_data(
        self,
        data: SequenceData,
        k: int = 10,
        rows: Sequence[int] | np.ndarray | None = None,
        exclude_history: bool = True,
        item_mask: np.ndarray | None = None,
        exclude_per_user: Sequence[np.ndarray] | None = None,
        with_reasons: bool = True,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-K in internal ids for rows of encoded data.

        Args:
            data: Encoded histories.
            k: Items per user.
            rows: Rows of `data` to score (default all).
            exclude_history: Never recommend an item of the user's history.
            item_mask: (n_items,) bool over internal ids, True = never recommend
                (inactive, out of stock).
            exclude_per_user: Per scored row, extra internal ids to exclude.
            with_reasons: Also compute the reason item per recommendation.
            batch_size: Users scored per matrix product.

        Returns:
            (items, scores, reasons), each (users, k); excluded slots (when fewer
            than k items remain) have item 0 and score -inf.
        """
        rows = np.arange(len(data)) if rows is None else np.asarray(rows, dtype=np.int64)
        k = min(k, len(self.item_vocab) - N_RESERVED)
        out_items = np.zeros((len(rows), k), dtype=np.int32)
        out_scores = np.zeros((len(rows), k), dtype=np.float32)
        out_reasons = np.zeros((len(rows), k), dtype=np.int32)
        bias = self._column_bias(item_mask)
        # Score users in order of history length: narrow batches are cheaper.
        lengths = data.lengths()[rows]
        by_length = np.argsort(lengths, kind="stable")
        for batch_positions in length_batches(
            np.minimum(lengths[by_length], self.max_len), batch_size
        ):
            positions = by_length[batch_positions]
            idx = rows[positions]
            batch = data.batch(idx, self.max_len, self.n_gap_buckets)
            where = _excluded_pairs(data, idx, positions, exclude_history, exclude_per_user)
            top, top_scores = self.masked_top_k(batch, bias, where, k)
            top = np.where(np.isfinite(top_scores), top, 0).astype(np.int32)
            out_items[positions] = top
            out_scores[positions] = top_scores
            if with_reasons:
                out_reasons[positions] = np.where(top > 0, self.reasons(batch, top), 0)
        return out_items, out_scores, out_reasons

    def _column_bias(self, item_mask: np.ndarray | None) -> np.ndarray:
        """(n_items,) 0, or -inf for padding, OOV and the items `item_mask` marks."""
        bias = np.zeros(len(self.item_vocab), dtype=np.float32)
        bias[:N_RESERVED] = -np.inf
        if item_mask is not None:
            bias[np.asarray(item_mask, dtype=bool)] = -np.inf
        return bias

    def top_k(
        self,
        histories: Sequence[Sequence[Any]],
        k: int = 10,
        *,
        timestamps: Sequence[Sequence[float]] | None = None,
        events: Sequence[Sequence[Any]] | None = None,
        exclude_history: bool = True,
        exclude_items: Iterable[Any] = (),
        exclude_per_user: Sequence[Iterable[Any]] | None = None,
    ) -> tuple[list[list[Any]], np.ndarray, list[list[Any]]]:
        """Top-K recommendations for a batch of users, in raw ids.

        Args:
            histories: Per user, raw item ids in time order (oldest first).
            k: Items per user.
            timestamps: Per user, event times in seconds (optional).
            events: Per user, event types (optional).
            exclude_history: Never recommend an item of the user's history.
            exclude_items: Raw ids never to recommend (inactive, out of stock).
            exclude_per_user: Per user, raw ids never to recommend to that user
                (already bought outside the history given, ...).

        Returns:
            (item_ids, scores, reason_item_ids): per user, k raw item ids best
            first (fewer if the masks leave fewer items), a (users, k) score array,
            and per recommendation the raw id of the history item that contributed
            most (None if the model has no per-item reason).
        """
        data = encode_histories(histories, self.item_vocab, self.event_vocab, timestamps, events)
        mask = np.zeros(len(self.item_vocab), dtype=bool)
        mask[self._known_ids(exclude_items)] = True
        per_user = None
        if exclude_per_user is not None:
            per_user = [self._known_ids(excluded) for excluded in exclude_per_user]
        items, scores, reasons = self.top_k_data(
            data, k, exclude_history=exclude_history, item_mask=mask, exclude_per_user=per_user
        )
        decoded, why = [], []
        for row_items, row_reasons in zip(items, reasons, strict=True):
            keep = row_items >= N_RESERVED
            decoded.append(self.item_vocab.decode(row_items[keep]))
            why.append(self.item_vocab.decode(row_reasons[keep]))
        return decoded, scores, why

    def _known_ids(self, raw_ids: Iterable[Any]) -> np.ndarray:
        """Internal ids of the raw ids the vocabulary knows (unknown ones are dropped)."""
        ids = self.item_vocab.encode(list(raw_ids))
        return ids[ids >= N_RESERVED]


def _excluded_pairs(
    data: SequenceData,
    idx: np.ndarray,
    positions: np.ndarray,
    exclude_history: bool,
    exclude_per_user: Sequence[np.ndarray] | None,
) -> np.ndarray:
    """(pairs, 2) int64 (batch row, internal item id) never to recommend.

    `idx` are the batch's rows of `data`, `positions` their indices into
    `exclude_per_user`.
    """
    pair_rows: list[np.ndarray] = []
    pair_items: list[np.ndarray] = []
    if exclude_history:
        pair_rows = [np.full(len(data.items[r]), i) for i, r in enumerate(idx)]
        pair_items = [data.items[r] for r in idx]
    if exclude_per_user is not None:
        for i, position in enumerate(positions):
            extra = np.asarray(exclude_per_user[position], dtype=np.int64)
            pair_rows.append(np.full(len(extra), i))
            pair_items.append(extra)
    if not pair_rows:
        return np.zeros((0, 2), np.int64)
    pairs = np.stack([np.concatenate(pair_rows), np.concatenate(pair_items)], axis=1)
    return pairs.astype(np.int64)


def length_batches(
    sorted_lengths: np.ndarray, batch_size: int, token_budget: int | None = None
) -> list[np.ndarray]:
    """Consecutive batches of length-sorted rows holding at most `token_budget` padded events.

    Short histories go `batch_size` at a time; long ones in smaller batches, so the
    few long histories do not pad thousands of short ones to full width.
    """
    budget = token_budget or batch_size * 8
    out, start, n = [], 0, len(sorted_lengths)
    while start < n:
        end = min(start + batch_size, n)
        while end - start > 1 and (end - start) * max(int(sorted_lengths[end - 1]), 1) > budget:
            end = start + max(1, budget // max(int(sorted_lengths[end - 1]), 1))
        out.append(np.arange(start, end))
        start = end
    return out


def reasons_from_similarity(
    batch_items: np.ndarray, recommended: np.ndarray, similarity: Any, recent: int = 20
) -> np.ndarray:
    """Reason = the history item most similar to the recommended one.

    Args:
        batch_items: (users, length) history internal ids, left-padded.
        recommended: (users, k) internal ids.
        similarity: Callable (history_ids (u, m), rec_ids (u, k)) -> (u, k, m) array.
        recent: Only the most recent items of each history are considered.
    """
    hist = batch_items[:, -recent:]
    sim = np.asarray(similarity(hist, recommended), dtype=np.float64)
    sim = np.where((hist > 0)[:, None, :], sim, -np.inf)
    best = np.argmax(sim, axis=2)
    out = np.take_along_axis(hist, best, axis=1) if best.size else np.zeros_like(recommended)
    has_history = (hist > 0).any(axis=1)[:, None]
    return np.where(has_history, out, 0).astype(np.int32)


def standardised(scores: np.ndarray) -> np.ndarray:
    """(users, n_items - N_RESERVED) item columns of `scores`, each row centred and
    scaled to unit variance: the scores of different models made comparable."""
    s = np.array(scores, dtype=np.float32)[:, N_RESERVED:]
    return (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-9)


def standardised_sum(scores: Iterable[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """(users, n_items) weighted sum of `standardised` scores; padding and OOV get -inf.

    `Blend` scores this way, and whatever must score exactly as a `Blend` (the
    served ensemble, its weight search) calls it too.
    """
    total = None
    for part, w in zip(scores, weights, strict=True):
        s = standardised(part)
        total = w * s if total is None else total + w * s
    if total is None:
        raise ValueError("standardised_sum needs at least one score matrix")
    out = np.full((len(total), total.shape[1] + N_RESERVED), -np.inf, dtype=np.float32)
    out[:, N_RESERVED:] = total
    return out


class Blend(Recommender):
    """Weighted sum of per-user standardised scores of several recommenders.

    Each model's row of scores is centred and scaled to unit variance before
    weighting, so weights are comparable across models. Reasons come from the first
    model.
    """

    kind = "transformer"

    def __init__(
        self, models: Sequence[Recommender], weights: Sequence[float], name: str = "blend"
    ) -> None:
        first = models[0]
        self.models, self.weights, self.name = list(models), list(weights), name
        self.item_vocab, self.event_vocab = first.item_vocab, first.event_vocab
        self.max_len, self.n_gap_buckets = first.max_len, first.n_gap_buckets

    def score(self, batch: Batch) -> np.ndarray:
        # A generator: one model's score matrix at a time is held besides the total.
        return standardised_sum((model.score(batch) for model in self.models), self.weights)

    def reasons(self, batch: Batch, recommended: np.ndarray) -> np.ndarray:
        return self.models[0].reasons(batch, recommended)
