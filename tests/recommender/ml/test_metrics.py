import math

import numpy as np
import pytest

from recommender.ml import (
    Batch,
    build_sequence_data,
    evaluate,
    hit_rate,
    mrr,
    ndcg,
    rank_metrics,
    ranks_from_scores,
)
from recommender.ml.metrics import top_k_indices


def test_ranks_are_pessimistic_on_ties_and_miss_on_minus_inf():
    scores = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.1, 0.3, -np.inf]])
    assert ranks_from_scores(scores, np.array([1, 0])).tolist() == [1, 0]
    assert ranks_from_scores(scores, np.array([3, 3]))[1] == 4


def test_metrics_against_hand_computed_values():
    ranks = np.array([0, 1, 4, 10, 30])
    assert hit_rate(ranks, 10) == pytest.approx(3 / 5)
    assert ndcg(ranks, 10) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(6)) / 5)
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 1 / 5 + 1 / 11 + 1 / 31) / 5)
    m = rank_metrics(ranks, (5,))
    assert (
        m["hr@5"] == pytest.approx(0.6)
        and m["precision@5"] == pytest.approx(0.12)
        and m["recall@5"] == pytest.approx(0.6)
    )


def test_top_k_indices_sorted():
    s = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert top_k_indices(s, 3).tolist() == [[1, 3, 2]]


class FixedScorer:
    """Scores items by a fixed vector (internal ids)."""

    def __init__(self, vec):
        self.vec = np.asarray(vec, dtype=np.float32)

    def score(self, batch: Batch):
        return np.tile(self.vec, (len(batch.items), 1))


def test_evaluate_history_exclusion_segments_and_coverage():
    # Items a..f -> internal ids 2..7; the scorer prefers a > b > c > d > e > f.
    users = ["u1"] * 3 + ["u2"] * 12
    items = ["a", "b", "c"] + ["a", "d", "e", "f", "b"] * 2 + ["a", "c"]
    data = build_sequence_data(users, items)
    inputs = data.truncate(1)
    targets = np.array([data.items[0][-1], data.items[1][-1]])  # c, c
    scorer = FixedScorer([0, 0, 6, 5, 4, 3, 2, 1])
    out = evaluate(
        scorer,
        inputs,
        targets,
        max_len=50,
        ks=(1, 2),
        item_counts=np.array([0, 0, 4, 2, 1, 2, 2, 2]),
    )
    ex, no = out["history_excluded"], out["no_exclusion"]
    # u1 history {a, b}: c is first; u2 history {a,d,e,f,b}: c is first.
    assert ex["hr@1"] == 1.0 and ex["mrr"] == 1.0
    # Nothing excluded: c is third for both users.
    assert no["hr@1"] == 0.0 and no["hr@2"] == 0.0 and no["mrr"] == pytest.approx(1 / 3)
    assert no["coverage@2"] == pytest.approx(2 / 6)
    assert ex["segments"]["cold"]["users"] == 1 and ex["segments"]["hot"]["users"] == 1
    assert ex["segments"]["warm"]["users"] == 0
    assert no["popularity_bias@1"] == pytest.approx(4 / (13 / 6))


def test_sampled_protocol_is_optional_and_bounded():
    data = build_sequence_data(["u"] * 4, ["a", "b", "c", "d"])
    for i in range(200):
        data.item_vocab.add(f"x{i}")
    inputs = data.truncate(1)
    vec = np.zeros(len(data.item_vocab), np.float32)
    vec[data.items[0][-1]] = 1.0  # the target is the best item
    out = evaluate(FixedScorer(vec), inputs, np.array([data.items[0][-1]]), sampled_negatives=99)
    assert out["history_excluded"]["sampled"]["hr@10"] == 1.0
    assert out["history_excluded"]["sampled"]["negatives"] == 99
