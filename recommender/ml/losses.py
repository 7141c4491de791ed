"""The next-item task: cross-entropy at every non-padding position of a batch.

As TensorFlow Recommenders keeps a model (here `SequentialRecommender`: hidden states
and item vectors) apart from its task (the loss on them), this module takes hidden
states, item vectors and targets and returns a scalar loss; it builds no layer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from .data import N_RESERVED
from .sampling import NegativeSampler

# Added to a logit to take its item out of a softmax.
MASKED_LOGIT = -1e9


class Positions(NamedTuple):
    """The positions a batch is trained on, flattened to rows.

    `keep` is the boolean mask that selected them from the (users x length) grid, or
    None when every position is kept (padding then weighs 0): XLA wants static
    shapes, so a compiled step keeps them all.
    """

    targets: tf.Tensor
    hidden: tf.Tensor
    weight: tf.Tensor
    keep: tf.Tensor | None


def target_positions(hidden: tf.Tensor, targets: tf.Tensor, dense: bool) -> Positions:
    """Hidden states and targets of the non-padding positions (target > 0)."""
    flat_targets = tf.reshape(targets, [-1])
    flat_hidden = tf.reshape(hidden, [-1, hidden.shape[-1]])
    if dense:
        return Positions(flat_targets, flat_hidden, tf.cast(flat_targets > 0, tf.float32), None)
    keep = flat_targets > 0
    kept_targets = tf.boolean_mask(flat_targets, keep)
    kept_hidden = tf.boolean_mask(flat_hidden, keep)
    return Positions(kept_targets, kept_hidden, tf.ones_like(kept_targets, tf.float32), keep)


def without_seen_items(
    logits: tf.Tensor, items: tf.Tensor, targets: tf.Tensor, keep: tf.Tensor | None
) -> tf.Tensor:
    """`logits` (positions, items) with each position's earlier items pushed to -1e9.

    Row r of `logits` is position (b, t) of `items` (users, length), after
    `boolean_mask(keep)` when `keep` is given. The items at positions <= t of row b
    are masked, except the target itself (a repeat stays learnable). Static shapes
    (one scatter of positions x length entries), so it also compiles with XLA.
    """
    length = tf.shape(items)[1]
    upto = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)
    seen = tf.reshape(tf.where(upto[None], items[:, None, :], 0), [-1, length])
    if keep is not None:
        seen = tf.boolean_mask(seen, keep)
    seen = tf.where(seen == targets[:, None], 0, seen)
    rows = tf.broadcast_to(tf.range(tf.shape(seen)[0])[:, None], tf.shape(seen))
    index = tf.stack([tf.reshape(rows, [-1]), tf.reshape(seen, [-1])], axis=1)
    penalty = tf.where(tf.reshape(seen, [-1]) > 0, MASKED_LOGIT, 0.0)
    return tf.tensor_scatter_nd_add(logits, index, penalty)


def reserved_items_bias(n_items: int) -> tf.Tensor:
    """(n_items,) logit bias that keeps padding and OOV out of the full softmax."""
    bias = np.zeros(n_items, np.float32)
    bias[:N_RESERVED] = MASKED_LOGIT
    return tf.constant(bias)


def full_softmax_cross_entropy(
    positions: Positions,
    item_vectors: tf.Tensor,
    items: tf.Tensor,
    column_bias: tf.Tensor,
    exclude_seen: bool,
) -> tf.Tensor:
    """Per-position cross-entropy over every item (see `ModelConfig.exclude_seen_in_loss`)."""
    logits = tf.matmul(positions.hidden, item_vectors, transpose_b=True)
    logits = tf.cast(logits, tf.float32) + column_bias
    if exclude_seen:
        logits = without_seen_items(logits, items, positions.targets, positions.keep)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positions.targets, logits=logits)


def sampled_softmax_cross_entropy(
    positions: Positions, item_vectors: tf.Tensor, sampler: NegativeSampler
) -> tf.Tensor:
    """Per-position cross-entropy over the target and the step's sampled negatives.

    A negative that is the position's own target is masked out of that position.
    """
    negatives = sampler.draw()
    targets, hidden = positions.targets, positions.hidden
    target_vectors = tf.cast(tf.gather(item_vectors, targets), tf.float32)
    positive = tf.reduce_sum(tf.cast(hidden, tf.float32) * target_vectors, -1)
    negative = tf.matmul(hidden, tf.gather(item_vectors, negatives), transpose_b=True)
    negative = tf.cast(negative, tf.float32)
    if sampler.log_q is not None:
        positive = positive - tf.gather(sampler.log_q, targets)
        negative = negative - tf.gather(sampler.log_q, negatives)[None, :]
    negative = tf.where(negatives[None, :] == targets[:, None], MASKED_LOGIT, negative)
    logits = tf.concat([positive[:, None], negative], axis=1)
    labels = tf.zeros_like(targets)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


class NextItemTask:
    """Mean cross-entropy of predicting each position's next item.

    Args:
        loss: "full" (softmax over every item) or "sampled" (over `sampler`'s draws).
        column_bias: (n_items,) bias of the full softmax (`reserved_items_bias`).
        exclude_seen: Full softmax only: leave each position's earlier items out.
        sampler: The negative sampler of the sampled loss.
        dense_positions: Keep every position (padding weighs 0) instead of a
            boolean mask; XLA-compiled steps need it.
    """

    def __init__(
        self,
        loss: str,
        *,
        column_bias: tf.Tensor,
        exclude_seen: bool,
        sampler: NegativeSampler | None,
        dense_positions: bool,
    ) -> None:
        if loss == "sampled" and sampler is None:
            raise ValueError("the sampled loss needs a negative sampler")
        self.loss = loss
        self.column_bias = column_bias
        self.exclude_seen = exclude_seen
        self.sampler = sampler
        self.dense_positions = dense_positions

    def __call__(
        self, hidden: tf.Tensor, item_vectors: tf.Tensor, items: tf.Tensor, targets: tf.Tensor
    ) -> tf.Tensor:
        """Scalar loss of hidden states (users, length, dim) against next items (users, length)."""
        positions = target_positions(hidden, targets, self.dense_positions)
        if self.loss == "full":
            cross_entropy = full_softmax_cross_entropy(
                positions, item_vectors, items, self.column_bias, self.exclude_seen
            )
        else:
            cross_entropy = sampled_softmax_cross_entropy(positions, item_vectors, self.sampler)
        weight = positions.weight
        return tf.reduce_sum(cross_entropy * weight) / tf.maximum(tf.reduce_sum(weight), 1.0)
