"""Training batches: users of similar history lengths together, in a seeded random order."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .config import ModelConfig
from .data import Batch, SequenceData


class TrainingInputs(NamedTuple):
    """One training step's (users, width) int32 arrays; targets are the next items (0 = none)."""

    items: np.ndarray
    events: np.ndarray
    gaps: np.ndarray
    targets: np.ndarray


def padded_sequences(data: SequenceData, width: int, n_gap_buckets: int) -> Batch:
    """Every user's last `width` events, left-padded (a (0, 1) batch when there are no users)."""
    rows = np.arange(len(data))
    if not len(data):
        return Batch(*(np.zeros((0, 1), np.int32),) * 3)
    return data.batch(rows, width, n_gap_buckets)


class TrainingBatches:
    """The batches of one epoch after another, drawn from a generator seeded by the config.

    Users with at least two events are trained on. Per epoch they are ordered by
    history length (random within a length) and cut into batches, and the batches
    are shuffled: most histories are short, so most batches are narrow and cheap.
    """

    def __init__(self, train: SequenceData, config: ModelConfig) -> None:
        # One (users, max_len + 1) matrix: inputs are columns [:-1], targets [1:].
        self.sequences = padded_sequences(train, config.max_len + 1, config.n_gap_buckets)
        self.rows = np.flatnonzero(train.lengths() >= 2)
        self.lengths = np.minimum(train.lengths()[self.rows], config.max_len + 1)
        self.batch_size = config.batch_size
        self.rng = np.random.default_rng(config.seed)

    @property
    def steps_per_epoch(self) -> int:
        return int(np.ceil(len(self.rows) / self.batch_size))

    def epoch(self) -> list[np.ndarray]:
        """The next epoch's batches, each an array of rows of the training data."""
        order = self.rows[np.lexsort((self.rng.random(len(self.rows)), self.lengths))]
        size = self.batch_size
        batches = [order[start : start + size] for start in range(0, len(order), size)]
        self.rng.shuffle(batches)
        return batches

    def inputs(self, rows: np.ndarray) -> TrainingInputs:
        """The step's inputs and targets, cut to the columns its users fill."""
        items = self.sequences.items[rows]
        used = np.flatnonzero(items.any(axis=0))
        first = used[0] if len(used) else items.shape[1] - 2
        first = min(first, items.shape[1] - 2)
        inputs = items[:, first:-1]
        targets = np.where(inputs > 0, items[:, first + 1 :], 0)
        events = self.sequences.events[rows, first:-1]
        gaps = self.sequences.gaps[rows, first:-1]
        return TrainingInputs(inputs, events, gaps, targets)
