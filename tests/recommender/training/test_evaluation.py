"""What a model version keeps of an evaluation (the popularity share, shopper and
product segments with their shopper counts) and how staff read it back ("n/a" for a
figure never measured or a segment without shoppers)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml import Batch, Vocabulary, build_sequence_data, evaluate
from recommender.training.evaluation import metrics_row
from recommender.training.scorecard import MEASURES, model_rows, segment_table

MEASURE = {m.key: m for m in MEASURES}


class FixedScorer:
    def score(self, batch: Batch):
        return np.tile(np.arange(14, 0, -1, dtype=np.float32), (len(batch.items), 1))


def _kept_row() -> dict:
    """Two shoppers over 12 products (ids 2..13, ranked in id order): u1 reads 2 events
    and wants a product trained on 3 times; u2 reads 4 and wants one never trained on."""
    histories = {"u1": ["p0", "p1", "p2"], "u2": ["p1", "p2", "p3", "p4", "p11"]}
    users = [u for u, items in histories.items() for _ in items]
    items = [i for seq in histories.values() for i in seq]
    data = build_sequence_data(users, items, item_vocab=Vocabulary(f"p{i}" for i in range(12)))
    counts = np.array([0, 0, 5, 4, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0])
    targets = np.array([seq[-1] for seq in data.items])
    return metrics_row(evaluate(FixedScorer(), data.truncate(1), targets, item_counts=counts))


def test_a_version_keeps_the_popularity_share_and_both_kinds_of_segments():
    row = _kept_row()
    # The most popular 10% are p0 and p1. Earlier items excluded, u1 gets p2..p11 (none
    # of them) and u2 the 8 products left, p0 among them: 1 of 18 slots.
    assert row["popular_share@10"] == pytest.approx(1 / 18)
    assert row["popularity_bias@10"] is not None  # kept beside it
    assert row["segments"]["cold"] == {"hr@10": 1.0, "ndcg@10": 1.0, "mrr": 1.0, "users": 1}
    assert row["segments"]["hot"] == {"hr@10": None, "ndcg@10": None, "mrr": None, "users": 0}
    # u2's target (p11, never trained on) comes after p0 and p5..p10 (p1..p4 are excluded).
    assert row["products"]["new"]["users"] == 1 and row["products"]["new"]["mrr"] == 1 / 8
    assert row["products"]["known"]["users"] == 1
    # Nothing excluded: both get p0..p9, 4 of 20 slots.
    assert row["no_exclusion"]["popular_share@10"] == pytest.approx(4 / 20)


def test_figures_never_measured_or_over_no_shopper_read_as_missing():
    old = {"ndcg@10": 0.1, "segments": {"cold": {"ndcg@10": 0.0, "users": 0}}}
    assert MEASURE["ndcg@10"].of(old) == 0.1
    assert MEASURE["popular_share@10"].of(old) is None  # trained before it existed
    assert MEASURE["cold"].of(old) is None and MEASURE["cold"].users_of(old) == 0
    assert MEASURE["new"].of(old) is None and MEASURE["new"].users_of(old) is None
    cells = [str(c) for c in model_rows({"model": old})[0].cells]
    assert cells[1] == "0.1000" and cells.count("n/a") == len(cells) - 1


def test_a_version_from_before_candidates_shows_its_transformer_and_baselines():
    rows = model_rows({"model": {"ndcg@10": 0.1}, "baselines": {"popularity": {"ndcg@10": 0.01}}})
    assert [(r.name, r.kind, r.role) for r in rows] == [
        ("model", "transformer", "served"),
        ("popularity", "baseline", "baseline"),
    ]
    tuned = {"item_transitions": {"kind": "transitions", "served": True}}
    rows = model_rows({"candidates": tuned, "baselines": {"item_transitions": {}}})
    assert [r.name for r in rows] == ["item_transitions", "item_transitions (untuned)"]


def test_the_segment_table_lists_shoppers_then_products_with_their_counts():
    table = segment_table(_kept_row())
    assert [(group, name) for group, name, _ in table] == [
        ("shoppers", "cold"),
        ("shoppers", "warm"),
        ("shoppers", "hot"),
        ("products", "new"),
        ("products", "known"),
    ]
    hot = table[2][2]
    assert [str(c) for c in hot] == ["n/a", "n/a", "n/a", "0"]
