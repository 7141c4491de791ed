"""The evaluation's popularity share and its new / known product segments, on a tiny
hand-computed example; a segment nobody falls in reports None, not 0."""

import math

import numpy as np
import pytest

from recommender.ml import Batch, Vocabulary, build_sequence_data, evaluate
from recommender.ml.metrics import most_popular_mask

# Internal ids: a=2, b=3, c=4, d=5, e=6, f=7. Training counts a 9, b 5, c 3, d 2, e 1, f 0.
ITEM_COUNTS = np.array([0, 0, 9, 5, 3, 2, 1, 0])


class FixedScorer:
    """Every shopper gets the same scores: a > b > c > d > e > f."""

    def score(self, batch: Batch):
        return np.tile(np.array([0, 0, 6, 5, 4, 3, 2, 1], np.float32), (len(batch.items), 1))


def _evaluated():
    histories = {
        "u1": ["a", "b", "c"],  # reads a, b (cold); target c: 3 training events, known
        "u2": ["b", "c", "d", "e", "f"],  # reads 4 (warm); target f: never trained on, new
        "u3": ["a", "b", "c", "d"],  # reads 3 (cold); target d: 2 training events, new
    }
    users = [u for u, items in histories.items() for _ in items]
    items = [i for seq in histories.values() for i in seq]
    data = build_sequence_data(users, items, item_vocab=Vocabulary("abcdef"))
    targets = np.array([seq[-1] for seq in data.items])
    return evaluate(FixedScorer(), data.truncate(1), targets, ks=(2,), item_counts=ITEM_COUNTS)


def test_the_most_popular_tenth_is_at_least_one_item_and_never_a_reserved_id():
    assert np.flatnonzero(most_popular_mask(ITEM_COUNTS)).tolist() == [2]  # ceil(0.6) = 1: a
    counts = np.array([50, 50, *range(20, 0, -1)])  # 20 rankable items: the top 2
    assert np.flatnonzero(most_popular_mask(counts)).tolist() == [2, 3]
    assert not most_popular_mask(np.array([0, 0])).any()


def test_popular_share_counts_the_slots_taken_by_the_most_popular_items():
    out = _evaluated()
    # Earlier items excluded: u1 gets c, d; u2 gets a, f; u3 gets d, e -> 1 of 6 slots is a.
    assert out["history_excluded"]["popular_share@2"] == pytest.approx(1 / 6)
    # Nothing excluded: everyone gets a, b -> 3 of 6.
    assert out["no_exclusion"]["popular_share@2"] == pytest.approx(3 / 6)


def test_new_and_known_products_split_the_shoppers_by_their_targets_training_events():
    products = _evaluated()["history_excluded"]["products"]
    # new: u2 finds f second (a is the only unseen item above it), u3 finds d first.
    assert products["new"]["users"] == 2
    assert products["new"]["hr@2"] == 1.0
    assert products["new"]["ndcg@2"] == pytest.approx((1 / math.log2(3) + 1) / 2)
    assert products["new"]["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    # known: u1 finds c first.
    assert products["known"]["users"] == 1
    assert products["known"]["ndcg@2"] == 1.0


def test_a_segment_without_shoppers_reports_no_figures_rather_than_zero():
    segments = _evaluated()["history_excluded"]["segments"]
    assert segments["cold"]["users"] == 2 and segments["warm"]["users"] == 1
    assert segments["hot"]["users"] == 0
    assert segments["hot"]["ndcg@2"] is None and segments["hot"]["mrr"] is None
    assert segments["warm"]["ndcg@2"] == pytest.approx(1 / math.log2(3))


def test_without_training_counts_there_are_no_product_segments_nor_popular_share():
    data = build_sequence_data(["u"] * 3, ["a", "b", "c"], item_vocab=Vocabulary("abcdef"))
    out = evaluate(FixedScorer(), data.truncate(1), np.array([data.items[0][-1]]), ks=(2,))
    assert "products" not in out["history_excluded"]
    assert "popular_share@2" not in out["history_excluded"]
