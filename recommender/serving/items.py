"""The active model's item vectors as one matrix, built once per loaded model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ItemMatrix:
    """A model's item ids (raw, ``None`` for reserved rows), vectors and their unit-length
    copies, and an id -> row map."""

    ids: np.ndarray  # object array: product ids, None for reserved rows
    raw: np.ndarray  # (items, dim) float32
    unit: np.ndarray  # raw / its norm
    row_of: dict
    # The product ids in ascending order and their rows: a binary search finds hundreds
    # of search candidates in one call (a dict lookup each was a visible share of a search).
    sorted_ids: np.ndarray
    sorted_rows: np.ndarray

    @classmethod
    def of_model(cls, model) -> ItemMatrix:
        ids, vectors = model.item_vectors()
        raw = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        row_of = {pid: i for i, pid in enumerate(ids)}
        known = sorted(
            (int(pid), row) for pid, row in row_of.items() if isinstance(pid, int | np.integer)
        )
        return cls(
            ids=np.asarray(ids, dtype=object),
            raw=raw,
            unit=raw / np.maximum(norms, 1e-8),
            row_of=row_of,
            sorted_ids=np.array([pid for pid, _ in known], dtype=np.int64),
            sorted_rows=np.array([row for _, row in known], dtype=np.int64),
        )

    def rows(self, product_ids) -> np.ndarray:
        """Each product's row in the matrix, -1 for products the model does not know."""
        wanted = np.asarray(product_ids, dtype=np.int64)
        if not len(self.sorted_ids):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted_ids, wanted), len(self.sorted_ids) - 1)
        return np.where(self.sorted_ids[at] == wanted, self.sorted_rows[at], -1)
