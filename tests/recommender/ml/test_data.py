import numpy as np

from recommender.ml import (
    OOV,
    PAD,
    Vocabulary,
    build_sequence_data,
    leave_last_out,
)
from recommender.ml.data import gap_buckets


def test_vocabulary_reserves_padding_and_oov():
    v = Vocabulary(["a", "b"])
    assert PAD == 0 and OOV == 1
    assert v.encode(["a", "b", "zzz"]).tolist() == [2, 3, OOV]
    assert v.decode([0, 1, 2, 3]) == [None, None, "a", "b"]
    assert len(v) == 4
    assert Vocabulary.from_json(v.to_json()).index == v.index


def test_sequences_keep_row_order_and_split_is_leave_last_out():
    # Same timestamps on purpose: the row order, not the time, decides.
    users = ["x", "y", "x", "x", "y", "x", "y", "y"]
    items = [5, 9, 3, 7, 8, 1, 2, 6]
    times = [10, 10, 10, 10, 10, 10, 10, 10]
    d = build_sequence_data(users, items, times)
    assert d.users == ["x", "y"]
    assert d.item_vocab.decode(d.items[0]) == [5, 3, 7, 1]
    assert d.item_vocab.decode(d.items[1]) == [9, 8, 2, 6]
    s = leave_last_out(d)
    assert d.item_vocab.decode(s.train.items[0]) == [5, 3]
    assert d.item_vocab.decode(s.val_targets[:1]) == [7]
    assert d.item_vocab.decode(s.test_targets[:1]) == [1]
    assert d.item_vocab.decode(s.test_inputs.items[0]) == [5, 3, 7]
    assert s.users_eval.tolist() == [0, 1]


def test_batch_left_pads_and_truncates():
    d = build_sequence_data(["a"] * 5 + ["b"] * 2, [1, 2, 3, 4, 5, 6, 7])
    b = d.batch([0, 1], max_len=3, n_gap_buckets=8)
    assert b.items.shape == (2, 3)
    assert d.item_vocab.decode(b.items[0]) == [3, 4, 5]
    assert b.items[1, 0] == PAD and d.item_vocab.decode(b.items[1, 1:]) == [6, 7]
    assert (b.gaps[1, 1:] == 1).all() and b.gaps[1, 0] == 0  # no timestamps -> "unknown"


def test_gap_buckets():
    day = 86400
    g = gap_buckets(np.array([0, 100, 100 + day, 100 + day * 9]), 4, 16)
    assert g.tolist() == [1, 2, 3, 6]  # first, same day, 1 day -> 3+0, 8 days -> 3+3
    assert gap_buckets(None, 3, 16).tolist() == [1, 1, 1]
