"""Sequence data, vocabularies and the leave-last-out split (item features: `features.py`).

Everything here takes plain Python/NumPy values and returns NumPy arrays. Ids seen
by the models are *internal* indices: 0 is padding, 1 is out-of-vocabulary, real
values start at 2. `Vocabulary` maps between raw ids (ints or strings, as the caller
uses them) and internal indices.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

PAD = 0
OOV = 1
N_RESERVED = 2
SECONDS_PER_DAY = 86400


class Vocabulary:
    """Raw value <-> internal index, with padding (0) and out-of-vocabulary (1) reserved."""

    def __init__(self, values: Iterable[Hashable] = ()) -> None:
        self.values: list[Any] = []
        self.index: dict[Any, int] = {}
        for value in values:
            self.add(value)

    def add(self, value: Hashable) -> int:
        if value not in self.index:
            self.index[value] = len(self.values) + N_RESERVED
            self.values.append(value)
        return self.index[value]

    def __len__(self) -> int:
        """Size of the index space, reserved ids included."""
        return len(self.values) + N_RESERVED

    def __contains__(self, value: object) -> bool:
        return value in self.index

    def encode(self, values: Iterable[Hashable]) -> np.ndarray:
        """Internal ids of `values`; unknown values map to OOV."""
        return np.fromiter((self.index.get(v, OOV) for v in values), dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[Any]:
        """Raw values of internal ids; padding and OOV decode to None."""
        return [self.values[i - N_RESERVED] if i >= N_RESERVED else None for i in ids]

    def to_json(self) -> list[Any]:
        return list(self.values)

    @classmethod
    def from_json(cls, values: list[Any]) -> Vocabulary:
        return cls(values)


def gap_buckets(timestamps: np.ndarray | None, length: int, n_buckets: int) -> np.ndarray:
    """Bucketed time gap to the previous event, per event.

    0 is padding, 1 marks the first event (or unknown times), 2 the same day, and
    3.. log2 of the gap in days, capped at `n_buckets - 1`.
    """
    if timestamps is None or len(timestamps) != length or not np.all(np.isfinite(timestamps)):
        return np.ones(length, dtype=np.int32)
    days = np.diff(np.asarray(timestamps, dtype=np.float64)) / SECONDS_PER_DAY
    days = np.maximum(days, 0.0)
    out = np.ones(length, dtype=np.int32)
    same = days < 1.0
    out[1:][same] = 2
    out[1:][~same] = np.minimum(3 + np.floor(np.log2(np.maximum(days[~same], 1.0))), n_buckets - 1)
    return out


def _gap_matrix(times: np.ndarray, n_buckets: int) -> np.ndarray:
    """Vectorised `gap_buckets` of a (rows, width + 1) time matrix; NaN = unknown (1)."""
    with np.errstate(invalid="ignore"):
        days = np.maximum(np.diff(times, axis=1) / SECONDS_PER_DAY, 0.0)
        logs = 3 + np.floor(np.log2(np.maximum(np.nan_to_num(days, nan=1.0), 1.0)))
        out = np.where(days < 1.0, 2, np.minimum(logs, n_buckets - 1))
    return np.where(np.isnan(days), 1, out).astype(np.int32)


class Batch(NamedTuple):
    """Left-padded model inputs, shape (users, length), internal ids."""

    items: np.ndarray
    events: np.ndarray
    gaps: np.ndarray


@dataclass
class SequenceData:
    """Per-user, time-ordered event sequences in internal ids.

    Attributes:
        users: Raw user ids, in order of first appearance.
        items: Per user, int32 internal item ids in time order.
        events: Per user, int32 internal event-type ids.
        timestamps: Per user, event times in seconds (float64), or None if unknown.
        item_vocab: Item vocabulary (shared with the item features).
        event_vocab: Event-type vocabulary.
    """

    users: list[Any]
    items: list[np.ndarray]
    events: list[np.ndarray]
    timestamps: list[np.ndarray] | None
    item_vocab: Vocabulary
    event_vocab: Vocabulary

    def __len__(self) -> int:
        return len(self.users)

    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.items], dtype=np.int64)

    def truncate(self, n_last: int) -> SequenceData:
        """The same users with their last `n_last` events removed."""
        cut = (lambda a: a[: max(len(a) - n_last, 0)]) if n_last else (lambda a: a)
        return SequenceData(
            users=self.users,
            items=[cut(a) for a in self.items],
            events=[cut(a) for a in self.events],
            timestamps=None if self.timestamps is None else [cut(a) for a in self.timestamps],
            item_vocab=self.item_vocab,
            event_vocab=self.event_vocab,
        )

    def subset(self, rows: Sequence[int] | np.ndarray) -> SequenceData:
        rows = list(rows)
        return SequenceData(
            users=[self.users[r] for r in rows],
            items=[self.items[r] for r in rows],
            events=[self.events[r] for r in rows],
            timestamps=None if self.timestamps is None else [self.timestamps[r] for r in rows],
            item_vocab=self.item_vocab,
            event_vocab=self.event_vocab,
        )

    def batch(self, rows: Sequence[int] | np.ndarray, max_len: int, n_gap_buckets: int) -> Batch:
        """Left-padded inputs of some users, truncated to their last `max_len` events.

        The width is the longest kept sequence of the batch (at most `max_len`), so
        batches of short histories cost less.
        """
        rows = list(rows)
        width = max(1, min(max_len, max((len(self.items[r]) for r in rows), default=1)))
        items = np.zeros((len(rows), width), dtype=np.int32)
        events = np.zeros_like(items)
        # Column 0 holds the time of the event before the kept window (if any).
        times = np.full((len(rows), width + 1), np.nan)
        for i, r in enumerate(rows):
            seq = self.items[r]
            n = len(seq)
            k = min(n, width)
            if k:
                items[i, width - k :] = seq[n - k :]
                events[i, width - k :] = self.events[r][n - k :]
                if self.timestamps is not None:
                    before = int(n > k)  # the event just before the window sets the first gap
                    times[i, width + 1 - k - before :] = self.timestamps[r][n - k - before :]
        gaps = _gap_matrix(times, n_gap_buckets)
        gaps[items == 0] = 0
        return Batch(items, events, gaps)

    def item_counts(self) -> np.ndarray:
        """Number of events per internal item id (length = item vocabulary size)."""
        counts = np.zeros(len(self.item_vocab), dtype=np.int64)
        if self.items:
            np.add.at(counts, np.concatenate(self.items), 1)
        return counts


def build_sequence_data(
    user_ids: Sequence[Any],
    item_ids: Sequence[Any],
    timestamps: Sequence[float] | None = None,
    event_types: Sequence[Any] | None = None,
    item_vocab: Vocabulary | None = None,
    event_vocab: Vocabulary | None = None,
) -> SequenceData:
    """Groups flat, ordered event rows into per-user sequences.

    The rows must already be in time order per user (ties broken by the caller, e.g.
    by an event sequence number); this function never re-sorts, because timestamps
    of day resolution cannot order same-day events.

    Args:
        user_ids: Raw user id per event.
        item_ids: Raw item id per event.
        timestamps: Event times in seconds, or None.
        event_types: Event type per event (e.g. "view", "cart", "purchase"), or None
            (every event is then "event").
        item_vocab: Vocabulary to use; items it lacks are added (pass the catalogue's
            vocabulary so item features and sequences agree).
        event_vocab: Vocabulary of event types; likewise extended.
    """
    item_vocab = item_vocab if item_vocab is not None else Vocabulary()
    event_vocab = event_vocab if event_vocab is not None else Vocabulary()
    if event_types is None:
        event_types = ["event"] * len(user_ids)
    rows_per_user: dict[Any, list[int]] = {}
    for row, user in enumerate(user_ids):
        rows_per_user.setdefault(user, []).append(row)
    user_rows = list(rows_per_user.values())
    return SequenceData(
        users=list(rows_per_user),
        items=[_encoded(item_vocab, item_ids, rows) for rows in user_rows],
        events=[_encoded(event_vocab, event_types, rows) for rows in user_rows],
        timestamps=None
        if timestamps is None
        else [np.array([timestamps[r] for r in rows], dtype=np.float64) for rows in user_rows],
        item_vocab=item_vocab,
        event_vocab=event_vocab,
    )


def _encoded(vocab: Vocabulary, values: Sequence[Any], rows: list[int]) -> np.ndarray:
    """Internal ids of `values[rows]`; values the vocabulary lacks are added to it."""
    return np.array([vocab.add(values[r]) for r in rows], dtype=np.int32)


@dataclass
class LeaveLastOutSplit:
    """The time-ordered leave-last-out split.

    `train` holds every user's events but the last two. Validation reads
    `val_inputs` (= train) and predicts `val_targets` (the second-to-last item); test
    reads `test_inputs` (everything but the last event) and predicts `test_targets`.
    `users_eval` are the rows with at least 3 events, the only ones evaluated.
    """

    train: SequenceData
    val_inputs: SequenceData
    val_targets: np.ndarray
    test_inputs: SequenceData
    test_targets: np.ndarray
    users_eval: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def leave_last_out(data: SequenceData) -> LeaveLastOutSplit:
    """Splits each user's sequence: test = last item, validation = second-to-last."""
    lengths = data.lengths()
    keep = np.flatnonzero(lengths >= 3)
    train = data.truncate(2)
    test_inputs = data.truncate(1)
    val_targets = np.array(
        [data.items[r][-2] if lengths[r] >= 2 else PAD for r in range(len(data))], dtype=np.int32
    )
    test_targets = np.array(
        [data.items[r][-1] if lengths[r] >= 1 else PAD for r in range(len(data))], dtype=np.int32
    )
    return LeaveLastOutSplit(
        train=train,
        val_inputs=train,
        val_targets=val_targets,
        test_inputs=test_inputs,
        test_targets=test_targets,
        users_eval=keep,
    )
