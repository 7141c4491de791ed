"""Training batches: every user once an epoch, similar lengths together, seeded order."""

import numpy as np

from recommender.ml import ModelConfig, Vocabulary, build_sequence_data
from recommender.ml.batching import TrainingBatches, padded_sequences


def sequences(lengths):
    users, items = [], []
    for user, length in enumerate(lengths):
        users += [user] * length
        items += [f"i{(user + t) % 7}" for t in range(length)]
    return build_sequence_data(users, items, item_vocab=Vocabulary())


def test_each_user_with_two_events_is_in_exactly_one_batch_per_epoch():
    data = sequences([1, 2, 5, 3, 2, 8, 1, 4])
    batches = TrainingBatches(data, ModelConfig(batch_size=3, max_len=4))
    assert batches.steps_per_epoch == 2  # 6 users have >= 2 events
    for _ in range(3):
        rows = np.concatenate(batches.epoch())
        assert sorted(rows) == [1, 2, 3, 4, 5, 7]


def test_batches_hold_similar_lengths_and_the_order_is_seeded():
    lengths = [2, 9, 2, 9, 2, 9, 2, 9]
    config = ModelConfig(batch_size=4, max_len=20, seed=5)
    epochs = [TrainingBatches(sequences(lengths), config).epoch() for _ in range(2)]
    for batch in epochs[0]:
        assert len({lengths[r] for r in batch}) == 1
    for first, second in zip(*epochs, strict=True):
        np.testing.assert_array_equal(first, second)


def test_inputs_are_cut_to_the_used_columns_and_targets_are_the_next_items():
    data = build_sequence_data(["u", "u", "u", "v", "v"], ["a", "b", "c", "d", "e"])
    batches = TrainingBatches(data, ModelConfig(max_len=10))
    inputs = batches.inputs(np.array([0, 1]))
    a, b, c, d, e = data.item_vocab.encode("abcde")
    assert inputs.items.tolist() == [[a, b], [0, d]]
    assert inputs.targets.tolist() == [[b, c], [0, e]]
    assert inputs.events.shape == inputs.gaps.shape == (2, 2)


def test_no_users_give_an_empty_padded_batch():
    empty = build_sequence_data([], [])
    assert padded_sequences(empty, 5, 16).items.shape == (0, 1)
