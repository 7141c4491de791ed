"""The next-item task: full and sampled softmax over known tiny inputs."""

import numpy as np
import pytest
import tensorflow as tf

from recommender.ml.losses import (
    MASKED_LOGIT,
    NextItemTask,
    reserved_items_bias,
    sampled_softmax_cross_entropy,
    target_positions,
    without_seen_items,
)
from recommender.ml.sampling import NegativeSampler

ITEMS = tf.constant([[0, 5, 3, 5], [4, 2, 6, 7]], tf.int32)  # left-padded, row 0 repeats 5
TARGETS = tf.constant([[0, 3, 5, 6], [2, 6, 7, 4]], tf.int32)


class FixedNegatives:
    """A sampler that always draws the same items, without logQ correction."""

    log_q = None

    def __init__(self, negatives):
        self.negatives = tf.constant(negatives, tf.int32)

    def draw(self):
        return self.negatives


@pytest.mark.parametrize("dense", [False, True])
def test_seen_items_leave_the_softmax_of_later_positions_only(dense):
    keep = tf.reshape(TARGETS, [-1]) > 0
    y = tf.reshape(TARGETS, [-1]) if dense else tf.boolean_mask(tf.reshape(TARGETS, [-1]), keep)
    logits = tf.zeros((int(tf.shape(y)[0]), 9))
    out = without_seen_items(logits, ITEMS, y, None if dense else keep).numpy()
    masked = [set(np.flatnonzero(row < -1e8)) for row in out]
    expected = [
        set(),  # padding position (dense only)
        {5},  # saw 5, target 3
        {3},  # saw 5, 3; target 5 is a repeat and stays learnable
        {5, 3},  # saw 5, 3, 5
        {4},
        {4, 2},
        {4, 2, 6},
        {2, 6, 7},  # row 1: target 4 seen earlier stays open
    ]
    assert masked == (expected if dense else expected[1:])


def test_padding_positions_are_dropped_or_weigh_nothing():
    hidden = tf.reshape(tf.range(2 * 4 * 3, dtype=tf.float32), (2, 4, 3))
    masked = target_positions(hidden, TARGETS, dense=False)
    dense = target_positions(hidden, TARGETS, dense=True)
    assert masked.targets.numpy().tolist() == [3, 5, 6, 2, 6, 7, 4]
    assert masked.hidden.shape == (7, 3) and masked.keep is not None
    assert dense.weight.numpy().tolist() == [0, 1, 1, 1, 1, 1, 1, 1] and dense.keep is None


def test_with_equal_logits_the_full_softmax_costs_log_of_the_real_items():
    n_items = 10  # 8 real items: padding and OOV are never predicted
    task = NextItemTask(
        "full",
        column_bias=reserved_items_bias(n_items),
        exclude_seen=False,
        sampler=None,
        dense_positions=False,
    )
    loss = task(tf.zeros((2, 4, 3)), tf.ones((n_items, 3)), ITEMS, TARGETS)
    np.testing.assert_allclose(float(loss), np.log(8), rtol=1e-6)


def test_a_negative_equal_to_the_target_is_left_out_of_that_position():
    hidden = tf.zeros((1, 3))
    positions = target_positions(hidden[None], tf.constant([[5]], tf.int32), dense=False)
    vectors = tf.ones((10, 3))
    ce = sampled_softmax_cross_entropy(positions, vectors, FixedNegatives([5, 6, 7]))
    # Target 5 competes with 6 and 7 only: log(3), not log(4).
    np.testing.assert_allclose(ce.numpy(), [np.log(3)], rtol=1e-6)


@pytest.mark.parametrize(
    "loss, exclude_seen", [("full", True), ("full", False), ("sampled", False)]
)
def test_dense_positions_give_the_same_loss_as_masked_ones(loss, exclude_seen):
    rng = np.random.default_rng(0)
    hidden = tf.constant(rng.normal(size=(2, 4, 3)), tf.float32)
    vectors = tf.constant(rng.normal(size=(9, 3)), tf.float32)
    counts = np.arange(9)

    def task(dense):
        sampler = NegativeSampler(counts, 4, 0.75, seed=1) if loss == "sampled" else None
        return NextItemTask(
            loss,
            column_bias=reserved_items_bias(9),
            exclude_seen=exclude_seen,
            sampler=sampler,
            dense_positions=dense,
        )

    masked = float(task(False)(hidden, vectors, ITEMS, TARGETS))
    dense = float(task(True)(hidden, vectors, ITEMS, TARGETS))
    np.testing.assert_allclose(dense, masked, rtol=1e-6)


def test_the_sampled_loss_needs_a_sampler():
    with pytest.raises(ValueError, match="sampler"):
        NextItemTask(
            "sampled",
            column_bias=reserved_items_bias(4),
            exclude_seen=False,
            sampler=None,
            dense_positions=False,
        )
    assert reserved_items_bias(4).numpy().tolist() == [MASKED_LOGIT, MASKED_LOGIT, 0, 0]
