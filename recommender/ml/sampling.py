"""Negative sampling for the sampled softmax: popularity-skewed draws and their logQ."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .data import N_RESERVED


class NegativeSampler:
    """Draws `n_negatives` items per training step, shared by the whole batch.

    An item is drawn with probability q proportional to (training count + 1) ** alpha
    (alpha 0 = uniform). `log_q` holds log(q * n_negatives) per item for the logQ
    correction, so the sampled loss still estimates the full softmax; it is None
    for uniform draws, where the correction is a constant that cancels out.
    """

    def __init__(self, item_counts: np.ndarray, n_negatives: int, alpha: float, seed: int) -> None:
        self.n_items = len(item_counts)
        self.n_negatives = n_negatives
        self.alpha = alpha
        self.generator = tf.random.Generator.from_seed(seed)
        q = (item_counts.astype(np.float64) + 1.0) ** alpha
        q[:N_RESERVED] = 0.0
        q /= q.sum()
        self.cdf = tf.constant(np.cumsum(q)[N_RESERVED:], tf.float32)
        self.log_q = (
            tf.constant(np.log(np.maximum(q, 1e-30) * n_negatives), tf.float32) if alpha else None
        )

    def draw(self) -> tf.Tensor:
        """(n_negatives,) int32 internal item ids (never padding or OOV; repeats possible)."""
        if not self.alpha:
            return self.generator.uniform(
                [self.n_negatives], N_RESERVED, self.n_items, dtype=tf.int32
            )
        uniform = self.generator.uniform([self.n_negatives], 0.0, 1.0)
        drawn = tf.searchsorted(self.cdf, uniform, side="right")
        return N_RESERVED + tf.minimum(drawn, self.n_items - N_RESERVED - 1)
