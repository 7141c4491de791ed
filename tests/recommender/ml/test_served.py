"""The served model: one artifact for each kind, scoring as its parts, chosen on validation."""

import numpy as np
import pytest

from recommender.ml import (
    Blend,
    ItemTransitions,
    ServedModel,
    TitleTfidf,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    evaluate,
    leave_last_out,
    train_served,
)
from recommender.ml.data import N_RESERVED
from recommender.ml.selection import content_tune, validation_ndcgs
from tests.recommender.ml.conftest import N_ITEMS, catalogue

WEIGHTS = {"transformer": (1.0, 0.0), "transitions": (0.0, 1.0), "ensemble": (1.0, 0.4)}


@pytest.fixture(scope="module")
def parts(trained_rule):
    split, transformer = trained_rule
    transitions = ItemTransitions(split.train, window=1, max_len=transformer.max_len)
    return split, transformer, transitions


@pytest.fixture(scope="module")
def content(parts):
    split, transformer, _ = parts
    return TitleTfidf.from_features(
        split.train, transformer.features, decay=0.5, max_len=transformer.max_len
    )


def _batch(split, model):
    return split.test_inputs.batch(np.arange(30), model.max_len, model.n_gap_buckets)


@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_save_load_round_trip_scores_identically(tmp_path, parts, kind):
    split, transformer, transitions = parts
    served = ServedModel(transformer, transitions, WEIGHTS[kind])
    assert served.kind == kind
    served.save(tmp_path / "artifact")
    for name in ("model.keras", "vocab.json", "served.json", "transitions.npz"):
        assert (tmp_path / "artifact" / name).exists()
    loaded = ServedModel.load(tmp_path / "artifact")
    assert loaded.kind == kind and loaded.name == served.name and loaded.weights == served.weights
    assert loaded.transitions.params == transitions.params
    assert (loaded.transitions.matrix != transitions.matrix).nnz == 0
    batch = _batch(split, served)
    np.testing.assert_array_equal(loaded.score(batch), served.score(batch))
    a, b = served.top_k([[100, 101, 102]], k=5), loaded.top_k([[100, 101, 102]], k=5)
    assert a[0] == b[0] and a[2] == b[2]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(loaded.similar_scores(5), served.similar_scores(5))


def test_the_cooccurrence_counts_travel_with_the_artifact(tmp_path, parts):
    split, transformer, transitions = parts
    cooccurrence = ItemTransitions(split.train, window=50, backward=1.0, last=20)
    ServedModel(transformer, transitions, (1.0, 0.0), cooccurrence=cooccurrence).save(
        tmp_path / "artifact"
    )
    loaded = ServedModel.load(tmp_path / "artifact")
    assert loaded.cooccurrence.params == cooccurrence.params
    assert loaded.cooccurrence.matrix.nnz > 0
    assert (loaded.cooccurrence.matrix != cooccurrence.matrix).nnz == 0
    # Without them (an artifact of an earlier version) the counts are empty, not missing.
    ServedModel(transformer, transitions).save(tmp_path / "plain")
    (tmp_path / "plain" / "cooccurrence.npz").unlink()
    assert ServedModel.load(tmp_path / "plain").cooccurrence.matrix.nnz == 0


@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_the_search_affinity_is_the_served_kinds(parts, kind):
    split, transformer, transitions = parts
    served = ServedModel(transformer, transitions, WEIGHTS[kind])
    vector = transformer.user_vectors([[100, 101, 102]])[0]
    recent = [N_RESERVED + 2, N_RESERVED + 1, N_RESERVED]  # newest first
    items = np.arange(N_RESERVED, N_RESERVED + 20)
    dot = transformer.item_vectors_internal()[items] @ vector
    follows = transitions.recent_scores(recent, items)

    affinity = served.affinity(vector, recent, items)

    if kind == "transformer":
        np.testing.assert_allclose(affinity, dot, rtol=1e-5)
    elif kind == "transitions":
        np.testing.assert_allclose(affinity, follows)
    else:
        z = lambda x: (x - x.mean()) / (x.std() + 1e-9)  # noqa: E731
        np.testing.assert_allclose(affinity, z(dot) + 0.4 * z(follows), rtol=1e-5, atol=1e-6)


def test_recent_scores_are_the_transitions_rows_of_the_latest_items(parts):
    _, _, transitions = parts
    recent = [N_RESERVED + 5, N_RESERVED + 3]
    items = np.array([N_RESERVED + 6, N_RESERVED + 4, N_RESERVED + 9])
    expected = (
        transitions.matrix[recent[0]].toarray()[0, items]
        + transitions.decay * (transitions.matrix[recent[1]].toarray()[0, items])
    )
    np.testing.assert_allclose(transitions.recent_scores(recent, items), expected)


def test_each_kind_scores_as_its_parts(parts):
    split, transformer, transitions = parts
    batch = _batch(split, transformer)
    alone = ServedModel(transformer, transitions, WEIGHTS["transformer"])
    np.testing.assert_array_equal(alone.score(batch), transformer.score(batch))
    baseline = ServedModel(transformer, transitions, WEIGHTS["transitions"])
    np.testing.assert_array_equal(baseline.score(batch), transitions.score(batch))
    ensemble = ServedModel(transformer, transitions, WEIGHTS["ensemble"])
    blend = Blend([transformer, transitions], list(WEIGHTS["ensemble"]))
    np.testing.assert_array_equal(ensemble.score(batch), blend.score(batch))
    # Reasons come from the heavier component.
    recommended = np.full((len(batch.items), 1), N_RESERVED + 3, dtype=np.int32)
    np.testing.assert_array_equal(
        baseline.reasons(batch, recommended), transitions.reasons(batch, recommended)
    )
    np.testing.assert_array_equal(
        ensemble.reasons(batch, recommended), transformer.reasons(batch, recommended)
    )


def test_serving_reads_the_transformers_vectors_whatever_the_kind(parts):
    _, transformer, transitions = parts
    served = ServedModel(transformer, transitions, WEIGHTS["transitions"])
    assert served.config is transformer.config and served.item_vocab is transformer.item_vocab
    assert served.max_len == transformer.max_len and served.device is transformer.device
    ids, vectors = served.item_vectors()
    assert ids == transformer.item_vectors()[0] and vectors.shape[1] == transformer.config.dim
    np.testing.assert_array_equal(
        served.user_vectors([[100, 101]]), transformer.user_vectors([[100, 101]])
    )
    assert served.item_vector_for_new_item("red lipstick").shape == (transformer.config.dim,)


def test_similar_scores_of_each_kind(rule_data, parts):
    _, _, nxt = rule_data
    _, transformer, transitions = parts
    item = 100
    internal = transformer.item_vocab.index[item]
    neighbours = {transformer.item_vocab.index[nxt[item]]}
    neighbours |= {transformer.item_vocab.index[p] for p, n in nxt.items() if n == item}
    for kind, weights in WEIGHTS.items():
        scores = ServedModel(transformer, transitions, weights).similar_scores(internal)
        assert scores.shape == (len(transformer.item_vocab),)
        assert np.isneginf(scores[:N_RESERVED]).all() and np.isfinite(scores[N_RESERVED:]).all()
        scores[internal] = -np.inf
        if kind != "transformer":  # the item before and the item after it in the cycle
            assert set(np.argsort(-scores)[:2].tolist()) == neighbours, kind
    vectors = transformer.item_vectors_internal()
    cosine = ServedModel(transformer, transitions).similar_scores(internal)
    expected = vectors[7] @ vectors[internal]
    expected /= np.linalg.norm(vectors[7]) * np.linalg.norm(vectors[internal])
    assert cosine[7] == pytest.approx(expected, rel=1e-5)


def test_an_artifact_saved_before_the_served_model_loads_as_the_transformer(tmp_path, parts):
    split, transformer, _ = parts
    transformer.save(tmp_path / "old")  # what earlier versions registered
    loaded = ServedModel.load(tmp_path / "old")
    assert loaded.kind == "transformer" and loaded.weights == (1.0, 0.0, 0.0)
    assert loaded.content is None
    assert loaded.transitions.matrix.shape == (len(transformer.item_vocab),) * 2
    assert loaded.transitions.matrix.nnz == 0
    batch = _batch(split, transformer)
    np.testing.assert_array_equal(loaded.score(batch), transformer.score(batch))
    assert loaded.top_k([[100, 101]], k=3)[0] == transformer.top_k([[100, 101]], k=3)[0]


def test_weights_must_say_what_to_serve(parts, content):
    _, transformer, transitions = parts
    for weights in ((0.0, 0.0), (-1.0, 1.0), (0.0, 0.0, 1.0), (1.0, 0.0, -0.1)):
        with pytest.raises(ValueError, match="weights"):
            ServedModel(transformer, transitions, weights, content=content)
    with pytest.raises(ValueError, match="content model"):
        ServedModel(transformer, transitions, (1.0, 0.0, 0.2))
    for weights in ((1.0,), (1.0, 0.0, 0.0, 0.0)):
        with pytest.raises(ValueError, match=r"transitions\[, content\]"):
            ServedModel(transformer, transitions, weights, content=content)


def test_an_ensemble_with_content_scores_saves_and_explains_as_its_parts(tmp_path, parts, content):
    split, transformer, transitions = parts
    served = ServedModel(transformer, transitions, (1.0, 0.2, 0.5), content=content)
    assert served.kind == "ensemble" and served.name == "sasrec_fused+item_transitions+title_tfidf"
    assert ServedModel(transformer, transitions, (1.0, 0.0, 0.5), content=content).name == (
        "sasrec_fused+title_tfidf"
    )
    batch = _batch(split, served)
    blend = Blend([transformer, transitions, content], [1.0, 0.2, 0.5])
    np.testing.assert_array_equal(served.score(batch), blend.score(batch))

    served.save(tmp_path / "artifact")
    assert (tmp_path / "artifact" / "content.npz").exists()
    loaded = ServedModel.load(tmp_path / "artifact")
    assert loaded.name == served.name and loaded.weights == served.weights
    assert loaded.content.params == content.params == {"decay": 0.5, "last": 10}
    assert (loaded.content.x != content.x).nnz == 0
    np.testing.assert_array_equal(loaded.score(batch), served.score(batch))

    # Reasons come from the heaviest part: here the transformer, then the content.
    recommended = np.full((len(batch.items), 1), N_RESERVED + 3, dtype=np.int32)
    np.testing.assert_array_equal(
        served.reasons(batch, recommended), transformer.reasons(batch, recommended)
    )
    content_led = ServedModel(transformer, transitions, (0.1, 0.0, 1.0), content=content)
    np.testing.assert_array_equal(
        content_led.reasons(batch, recommended), content.reasons(batch, recommended)
    )

    # Saved again into the same directory without content: no stale content.npz.
    ServedModel(transformer, transitions).save(tmp_path / "artifact")
    assert not (tmp_path / "artifact" / "content.npz").exists()
    assert ServedModel.load(tmp_path / "artifact").content is None


def test_content_is_left_out_of_a_catalogue_without_titles_or_attributes(parts):
    split, transformer, _ = parts
    bare = build_item_features(transformer.item_vocab, {}, {}, None, 8, 4, 2)
    assert content_tune(split, bare, transformer.config, log=lambda line: None) is None
    tuned = content_tune(split, transformer.features, transformer.config, log=lambda line: None)
    assert tuned is not None and tuned.params["decay"] in (0.3, 0.6, 0.9)
    assert tuned.model.x.nnz > 0
    # Told not to use titles or attributes, the content part does not read them either.
    config = transformer.config.replace(use_titles=False, use_attributes=False)
    assert content_tune(split, transformer.features, config, log=lambda line: None) is None
    config = transformer.config.replace(use_titles=False)
    titled = TitleTfidf.from_features(split.train, transformer.features)
    untitled = content_tune(split, transformer.features, config, log=lambda line: None).model
    assert 0 < untitled.x.nnz < titled.x.nnz


def test_validation_figures_are_those_evaluate_gives(parts, content):
    split, transformer, transitions = parts
    blends = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.4, 0.0), (1.0, 0.4, 0.3), (1.0, 0.0, 0.3)]
    figures = validation_ndcgs([transformer, transitions, content], split, blends)
    for key, model in (
        ((1.0, 0.0, 0.0), transformer),
        ((0.0, 1.0, 0.0), transitions),
        ((1.0, 0.4, 0.0), Blend([transformer, transitions], [1.0, 0.4])),
        ((1.0, 0.4, 0.3), Blend([transformer, transitions, content], [1.0, 0.4, 0.3])),
        ((1.0, 0.0, 0.3), Blend([transformer, content], [1.0, 0.3])),
    ):
        expected = evaluate(
            model,
            split.val_inputs,
            split.val_targets,
            split.users_eval,
            max_len=transformer.max_len,
            n_gap_buckets=transformer.n_gap_buckets,
            modes=("history_excluded",),
            ks=(10,),
        )["history_excluded"]["ndcg@10"]
        assert figures[key] == pytest.approx(expected, abs=1e-12), key


def test_transitions_are_served_when_the_transformer_learned_nothing(rule_data, tiny_config):
    """A deterministic cycle: the transitions know every next item; one epoch at a tiny
    learning rate leaves the transformer guessing."""
    data, features, _ = rule_data
    split = leave_last_out(data)
    config = tiny_config.replace(max_epochs=1, learning_rate=1e-6)
    selection = train_served(split, features, config, quick=True, log=lambda line: None)
    figures = {name: c.validation_ndcg for name, c in selection.candidates.items()}
    # The catalogue has titles: the fourth candidate weighs the content similarity too.
    with_content = [name for name in figures if name.endswith("+title_tfidf")]
    assert len(with_content) == 1
    assert set(figures) - set(with_content) == {
        "sasrec_fused",
        "item_transitions",
        "sasrec_fused+item_transitions",
    }
    assert selection.candidates[with_content[0]].params["content_weight"] > 0
    assert selection.served.kind == "transitions"
    assert figures["item_transitions"] == max(figures.values())
    assert figures["item_transitions"] > figures["sasrec_fused"] + 0.3
    served = selection.served
    assert served.validation["item_transitions"]["served"] is True
    assert served.transitions.params == selection.candidates["item_transitions"].params


def _event_rule_data(n_users: int = 240, seed: int = 0):
    """The next item depends on the event: a view leads to one item, a purchase to
    another. Transitions, blind to events, can only guess between the two."""
    rng = np.random.default_rng(seed)
    ids = np.arange(100, 100 + N_ITEMS)
    after = {
        "view": dict(zip(ids.tolist(), rng.permutation(ids).tolist(), strict=True)),
        "purchase": dict(zip(ids.tolist(), rng.permutation(ids).tolist(), strict=True)),
    }
    users, items, times, types = [], [], [], []
    for u in range(n_users):
        current = int(rng.choice(ids))
        for t in range(int(rng.integers(5, 13))):
            event = "purchase" if rng.random() < 0.5 else "view"
            users.append(f"u{u}")
            items.append(current)
            times.append(1_000_000 + 86400 * t)
            types.append(event)
            current = after[event][current]
    catalogue_ids, titles, attributes = catalogue()
    vocab = Vocabulary(catalogue_ids)
    data = build_sequence_data(users, items, times, types, vocab)
    features = build_item_features(vocab, titles, attributes, None, 8, 4, 2)
    return leave_last_out(data), features


def test_transitions_are_not_served_when_the_next_item_depends_on_the_event(tiny_config):
    split, features = _event_rule_data()
    config = tiny_config.replace(dropout=0.0, max_epochs=60, patience=10)
    selection = train_served(split, features, config, quick=True, log=lambda line: None)
    figures = {name: c.validation_ndcg for name, c in selection.candidates.items()}
    assert selection.served.kind in ("transformer", "ensemble")
    assert figures[selection.served.name] == max(figures.values())
    assert figures["item_transitions"] < figures[selection.served.name] - 0.05
    assert set(selection.timings) == {
        "tune_transitions",
        "tune_content",
        "train_transformer",
        "select",
    }
