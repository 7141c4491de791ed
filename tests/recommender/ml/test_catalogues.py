"""The core trains and scores on odd catalogues the benchmark will meet: no titles at all,
more attributes than kept, one very long history, identical synthetic timestamps,
items no one bought, an empty attribute dict."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from recommender.ml import (
    ModelConfig,
    ServedModel,
    TrainedModel,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    fit,
    leave_last_out,
    train_served,
)
from recommender.ml.batching import TrainingBatches, TrainingInputs
from recommender.ml.features import content_neighbours, item_neighbours
from recommender.ml.losses import NextItemTask, reserved_items_bias
from recommender.ml.model import ItemTower
from recommender.ml.training import pad_for_xla

DAY = 86400
ITEMS = list(range(1, 31))

QUICK = ModelConfig(
    max_len=20,
    dim=16,
    n_blocks=1,
    n_heads=1,
    batch_size=16,
    max_epochs=2,
    patience=1,
    loss="full",
    max_train_seconds=60.0,
    seed=3,
)


def walks(n_users: int = 24, length: int = 6, seed: int = 0):
    """Users walking the catalogue in steps of one; timestamps one per day per position."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for user in range(n_users):
        start = int(rng.integers(len(ITEMS)))
        for position in range(length):
            users.append(f"u{user}")
            items.append(ITEMS[(start + position) % len(ITEMS)])
            times.append(float(position * DAY))
    return users, items, times


def train(rows, catalogue, titles, attributes, config=QUICK):
    """The product's path: vocabulary, sequences, features, split, `fit`."""
    users, items, times = rows
    vocab = Vocabulary(catalogue)
    data = build_sequence_data(users, items, times, None, vocab)
    features = build_item_features(
        vocab,
        titles,
        attributes,
        None,
        config.max_title_tokens,
        config.max_attributes,
        config.min_token_count,
    )
    split = leave_last_out(data)
    return split, features, fit(split, features, config)


def assert_scores_sanely(model: TrainedModel, history, k: int = 5) -> None:
    items, scores, _ = model.top_k([history], k=k)
    assert len(items[0]) == k and not set(items[0]) & set(history)
    assert np.isfinite(scores).all()
    _, vectors = model.item_vectors()
    assert np.isfinite(vectors).all()
    assert np.isfinite(model.metrics["best_val_ndcg@10"])


@pytest.fixture(scope="module")
def untitled():
    """A catalogue whose every title is None or empty, trained with titles on."""
    titles = {i: (None if i % 2 else "") for i in ITEMS}
    attributes = {i: [f"brand{i % 4}"] for i in ITEMS}
    return train(walks(), ITEMS, titles, attributes)


def test_a_catalogue_without_titles_builds_an_empty_token_vocabulary(untitled):
    _, features, model = untitled
    assert len(features.token_vocab) == 2  # padding and OOV only
    assert not features.tokens.any()
    assert model.model.tower.token_embedding.input_dim >= 2


def test_a_catalogue_without_titles_trains_and_scores_with_titles_on(untitled):
    _, _, model = untitled
    assert_scores_sanely(model, [1, 2, 3])
    assert np.isfinite(model.item_vector_for_new_item("a title no item had")).all()


@pytest.mark.filterwarnings("error:Gradients do not exist:UserWarning")
def test_a_catalogue_without_titles_trains_with_titles_off():
    titles = dict.fromkeys(ITEMS, "")
    _, _, model = train(walks(seed=1), ITEMS, titles, {}, QUICK.replace(use_titles=False))
    assert_scores_sanely(model, [4, 5, 6])


def test_a_model_without_titles_saves_and_loads_scoring_identically(tmp_path, untitled):
    split, _, model = untitled
    loaded = TrainedModel.load(model.save(tmp_path / "artifact"))
    assert len(loaded.features.token_vocab) == 2
    batch = split.test_inputs.batch(np.arange(len(split.test_inputs)), 20, QUICK.n_gap_buckets)
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))
    a, b = model.top_k([[7, 8, 9]], k=5), loaded.top_k([[7, 8, 9]], k=5)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


def test_the_served_model_of_a_catalogue_without_titles_or_attributes(tmp_path):
    """No text at all: the content similarity is left out of the candidates, and the
    served model still saves, loads and scores as it did."""
    users, items, times = walks(seed=2)
    vocab = Vocabulary(ITEMS)
    split = leave_last_out(build_sequence_data(users, items, times, None, vocab))
    features = build_item_features(vocab, dict.fromkeys(ITEMS, ""), {}, None, 16, 8, 2)
    selection = train_served(split, features, QUICK, quick=True, log=lambda line: None)
    assert set(selection.candidates) == {
        "sasrec_fused",
        "item_transitions",
        "sasrec_fused+item_transitions",
    }
    assert selection.timings["tune_content"] == 0.0
    served = selection.served
    assert served.content is None and len(served.weights) == 3 and served.weights[2] == 0.0
    loaded = ServedModel.load(served.save(tmp_path / "artifact"))
    assert not (tmp_path / "artifact" / "content.npz").exists()
    assert loaded.name == served.name and loaded.content is None
    assert loaded.top_k([[4, 5, 6]], k=5)[0] == served.top_k([[4, 5, 6]], k=5)[0]


def test_items_with_more_attributes_than_kept_keep_their_first_ones():
    attributes = {i: [f"attr{(i + j) % 40}" for j in range(12)] for i in ITEMS}
    config = QUICK.replace(max_attributes=4)
    _, features, model = train(walks(seed=2), ITEMS, {}, attributes, config)
    assert features.attributes.shape == (len(ITEMS) + 2, 4)
    first = [features.attribute_vocab.index[a] for a in attributes[1][:4]]
    assert features.attributes[features_row(model, 1)].tolist() == first
    _, attrs, _ = features.encode_item(None, [f"attr{j}" for j in range(12)])
    assert (attrs > 0).all()  # the new item's first 4 known attributes, no overflow
    assert_scores_sanely(model, [10, 11])


def features_row(model: TrainedModel, raw_id) -> int:
    return model.item_vocab.index[raw_id]


def test_one_user_with_a_500_item_sequence_trains_and_scores():
    users, items, times = walks(seed=3)
    long_walk = [ITEMS[p % len(ITEMS)] for p in range(500)]
    users += ["long"] * 500
    items += long_walk
    times += [float(p * DAY) for p in range(500)]
    split, _, model = train((users, items, times), ITEMS, {}, {})
    assert split.test_inputs.lengths().max() == 499
    # Every item is in this history: with it excluded nothing is left to recommend.
    items_out, scores, _ = model.top_k([long_walk], k=5)
    assert items_out == [[]] and np.isneginf(scores).all()
    items_out, scores, _ = model.top_k([long_walk], k=5, exclude_history=False)
    assert len(items_out[0]) == 5 and np.isfinite(scores).all()


def test_identical_one_per_day_timestamps_for_every_user():
    users, items, _ = walks(seed=4)
    per_user: dict[str, int] = {}
    times = []
    for user in users:
        times.append(float(per_user.get(user, 0) * DAY))
        per_user[user] = per_user.get(user, 0) + 1
    split, _, model = train((users, items, times), ITEMS, {}, {})
    gaps = split.train.batch([0], QUICK.max_len, QUICK.n_gap_buckets).gaps[0]
    assert gaps[gaps > 0].tolist() == [1, 3, 3, 3]  # first event, then one day apart
    assert_scores_sanely(model, [1, 2], k=3)


def test_items_in_no_sequence_are_scored_and_can_be_recommended():
    catalogue = [*ITEMS, *range(100, 140)]  # 40 items nobody ever had
    titles = {i: f"widget {i % 5}" for i in catalogue}
    attributes = {i: [f"brand{i % 4}"] for i in catalogue}
    _, _, model = train(walks(seed=5), catalogue, titles, attributes)
    ids, vectors = model.item_vectors()
    assert len(ids) == len(catalogue) and np.isfinite(vectors).all()
    everything, scores, _ = model.top_k([[1, 2]], k=len(catalogue) - 2)
    assert set(everything[0]) == set(catalogue) - {1, 2} and np.isfinite(scores).all()


def test_an_empty_vocabulary_and_an_empty_attribute_dict():
    empty = Vocabulary([])
    assert len(empty) == 2 and empty.encode(["x"]).tolist() == [1]
    assert empty.decode([0, 1]) == [None, None]
    features = build_item_features(empty, {}, {})
    assert features.tokens.shape == (2, 16) and features.attributes.shape == (2, 8)
    assert features.n_price_buckets == 1
    vocab = Vocabulary(ITEMS)
    features = build_item_features(vocab, {1: "red widget", 2: "red thing"}, {})
    assert len(features.attribute_vocab) == 2 and not features.attributes.any()
    tokens, attrs, price = features.encode_item("red", ["unknown"], None)
    assert tokens[0] == features.token_vocab.index["red"] and not attrs.any() and price == 0


def test_the_gpu_path_with_xla_trains_on_a_catalogue_without_titles(tmp_path):
    """XLA, on by default on a GPU, has no kernel for the sparse bag product."""
    titles = dict.fromkeys(ITEMS)
    attributes = {i: [f"brand{i % 4}", f"cat{i % 3}"] for i in ITEMS}
    split, _, model = train(
        walks(seed=6), ITEMS, titles, attributes, QUICK.replace(jit_compile="on")
    )
    assert model.metrics["jit_compile"]
    assert_scores_sanely(model, [1, 2, 3])
    loaded = TrainedModel.load(model.save(tmp_path / "artifact"))
    batch = split.test_inputs.batch(np.arange(len(split.test_inputs)), 20, QUICK.n_gap_buckets)
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))


@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer:UserWarning")
def test_compiled_and_eager_item_towers_average_the_same_bags():
    tower = ItemTower(8, 6, 5, 4, 1, True, True, False, dense_bags=True)
    ids = tf.constant([2, 3, 4, 5])
    tokens = tf.constant([[2, 3, 4], [0, 0, 0], [4, 0, 0], [2, 2, 3]])
    attributes = tf.constant([[2, 3], [3, 0], [0, 0], [2, 0]])
    prices = tf.zeros(4, tf.int32)
    eager = tower(ids, tokens, attributes, prices)
    compiled = tf.function(tower, jit_compile=True)(ids, tokens, attributes, prices)
    np.testing.assert_allclose(compiled.numpy(), eager.numpy(), rtol=1e-6, atol=1e-6)
    assert np.isfinite(eager.numpy()).all()


def test_xla_steps_see_a_handful_of_shapes_and_the_same_loss(untitled):
    """XLA compiles once per input shape: widths 1..50 must not mean 50 compilations."""
    split, _, model = untitled
    widths = set()
    for width in range(1, 51):
        zeros = np.zeros((5, width), np.int32)
        padded = pad_for_xla(TrainingInputs(zeros, zeros, zeros, zeros), 16, 50)
        assert padded.items.shape[0] == 16
        widths.add(padded.items.shape[1])
    assert widths == {8, 16, 32, 50}
    batches = TrainingBatches(split.train, QUICK)
    inputs = batches.inputs(batches.epoch()[0])
    padded = pad_for_xla(inputs, 64, 20)
    np.testing.assert_array_equal(
        padded.items[: len(inputs.items), -inputs.items.shape[1] :], inputs.items
    )
    task = NextItemTask(
        "full",
        column_bias=reserved_items_bias(32),
        exclude_seen=True,
        sampler=None,
        dense_positions=True,
    )
    vectors = model.model.item_vectors()

    def loss(step_inputs):
        hidden = model.model.encode(*step_inputs[:3], vectors)
        return float(task(hidden, vectors, step_inputs.items, step_inputs.targets))

    assert loss(padded) == pytest.approx(loss(inputs), rel=1e-5)


def test_item_neighbours_are_the_items_most_often_near_each_item():
    # Internal ids (2 and up are items): 2 and 3 follow each other twice, 2 and 4 once.
    sequences = [np.array([2, 3, 5]), np.array([3, 2, 4]), np.array([6])]
    table = item_neighbours(sequences, 7, k=2, window=1)

    assert table.shape == (7, 2) and not table[:2].any()  # padding and OOV stay empty
    assert list(table[2]) == [3, 4]  # twice, then once (1/distance each)
    assert list(table[5]) == [3, 0] and not table[6].any()  # 0-padded; an item alone
    wide = item_neighbours(sequences, 7, k=3, window=2)
    assert list(wide[2]) == [3, 4, 5]  # 5 is two steps from 2: half a count


def test_a_model_with_neighbours_trains_scores_and_round_trips(tmp_path):
    titles = dict.fromkeys(ITEMS, "")
    config = QUICK.replace(use_titles=False, n_neighbours=4, n_content_neighbours=0)
    split, _, model = train(walks(seed=2), ITEMS, titles, {}, config)
    table = model.model.neighbour_table.numpy()
    assert table.shape[1] == 4 and table[2:].any()
    assert_scores_sanely(model, [4, 5, 6])
    loaded = TrainedModel.load(model.save(tmp_path / "artifact"))
    np.testing.assert_array_equal(loaded.model.neighbour_table.numpy(), table)
    batch = split.test_inputs.batch(np.arange(len(split.test_inputs)), 20, QUICK.n_gap_buckets)
    np.testing.assert_allclose(loaded.score(batch), model.score(batch), rtol=1e-6)
    config = config.replace(n_neighbours=0)
    without = train(walks(seed=2), ITEMS, titles, {}, config)[2]
    assert without.model.neighbour_table is None


def test_content_neighbours_are_the_items_described_most_alike():
    titles = {
        1: "red velvet lipstick",
        2: "red matte lipstick",
        3: "blue running shoe",
        4: "blue trail running shoe",
        5: "",
        6: "lipstick",
    }
    vocab = Vocabulary(list(titles))
    features = build_item_features(vocab, titles, {6: ["glowco"], 1: ["glowco"]}, None, 8, 4, 1)
    table = content_neighbours(features, k=2)
    row = {
        raw: [vocab.values[i - 2] if i else None for i in table[vocab.index[raw]]] for raw in titles
    }

    assert table.shape == (len(vocab), 2) and not table[:2].any()
    assert row[3] == [4, None] and row[4] == [3, None]  # shoes: each other only
    assert row[1] == [6, 2]  # "lipstick" and brand glowco, then "red ... lipstick"
    assert row[5] == [None, None]  # no text: no neighbours, and nobody's
    assert all(vocab.index[5] not in list(r) for r in table)
    # Scored a row at a time (a big catalogue): the same table.
    np.testing.assert_array_equal(content_neighbours(features, 2, block_values=1), table)


def test_a_model_with_content_neighbours_holds_both_in_its_neighbour_table():
    titles = {i: f"item {i % 5} colour {i % 3}" for i in ITEMS}
    config = QUICK.replace(n_neighbours=2, n_content_neighbours=3)
    _, features, model = train(walks(seed=4), ITEMS, titles, {}, config)
    table = model.model.neighbour_table.numpy()
    assert table.shape[1] == 5
    np.testing.assert_array_equal(table[:, 2:], content_neighbours(features, 3))
    assert_scores_sanely(model, [4, 5, 6])
    # Titles off: the look-alikes come from what the model may read (here: nothing).
    untitled = train(walks(seed=4), ITEMS, titles, {}, config.replace(use_titles=False))[2]
    assert not untitled.model.neighbour_table.numpy()[:, 2:].any()
