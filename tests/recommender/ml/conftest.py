"""Tiny synthetic data with known answers, shared by the recommender-core tests."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from recommender.ml import (
    ModelConfig,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    fit,
    leave_last_out,
)

N_ITEMS = 24
COLOURS = ["red", "blue", "green", "black"]


def rule_rows(n_users: int = 240, length: int | None = None, seed: int = 0):
    """Users walk a fixed random cycle: the next item is always nxt[current].

    Lengths vary (5-12 events) unless given, so every position the test histories
    use is also trained.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(np.arange(100, 100 + N_ITEMS))
    nxt = {int(a): int(b) for a, b in zip(order, np.roll(order, -1), strict=True)}
    users, items, times = [], [], []
    for u in range(n_users):
        cur = int(rng.choice(order))
        for t in range(length or int(rng.integers(5, 13))):
            users.append(f"u{u}")
            items.append(cur)
            times.append(1_000_000 + 86400 * (t // 2))  # same-day ties on purpose
            cur = nxt[cur]
    return users, items, times, nxt


def catalogue():
    ids = list(range(100, 100 + N_ITEMS))
    titles = {i: f"{COLOURS[i % 4]} lipstick shade {i}" for i in ids}
    attrs = {i: [f"brand{i % 3}", f"cat{i % 4}"] for i in ids}
    return ids, titles, attrs


@pytest.fixture(scope="session")
def rule_data():
    users, items, times, nxt = rule_rows()
    ids, titles, attrs = catalogue()
    vocab = Vocabulary(ids)
    data = build_sequence_data(users, items, times, None, vocab)
    features = build_item_features(
        vocab, titles, attrs, None, max_title_tokens=8, max_attributes=4, min_token_count=2
    )
    return data, features, nxt


@pytest.fixture(scope="session")
def tiny_config():
    return ModelConfig(
        max_len=10,
        dim=32,
        n_blocks=1,
        n_heads=1,
        dropout=0.1,
        attention_dropout=0.0,
        learning_rate=5e-3,
        batch_size=32,
        max_epochs=30,
        patience=4,
        eval_every=2,
        loss="full",
        max_train_seconds=120,
        seed=7,
        # Trained to rank without excluding history too (no_exclusion is asserted).
        exclude_seen_in_loss=False,
    )


@pytest.fixture(scope="session")
def trained_rule(rule_data, tiny_config):
    data, features, _ = rule_data
    split = leave_last_out(data)
    return split, fit(split, features, tiny_config)
