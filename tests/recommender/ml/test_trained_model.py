"""The trained transformer: top-K with masks and reasons, vectors, the artifact."""

import numpy as np

from recommender.ml import ModelConfig, TrainedModel


def test_top_k_follows_the_rule_with_masks_and_reasons(rule_data, trained_rule):
    _, _, nxt = rule_data
    _, model = trained_rule
    start = 100
    hist = [start, nxt[start], nxt[nxt[start]]]
    want = nxt[hist[-1]]
    items, scores, reasons = model.top_k([hist, hist], k=5, exclude_per_user=[[], [want]])
    assert items[0][0] == want
    assert want not in items[1]
    assert not set(hist) & set(items[0])
    assert scores.shape == (2, 5) and np.all(np.diff(scores[0]) <= 0)
    assert all(r in hist for r in reasons[0])
    items, _, _ = model.top_k([hist], k=3, exclude_items=[want])
    assert want not in items[0]


def test_vectors_shapes_and_unseen_ids(trained_rule):
    _, model = trained_rule
    ids, vecs = model.item_vectors()
    assert vecs.shape == (len(ids), model.config.dim)
    users = model.user_vectors([[100, 101], ["unknown-item"], []])
    assert users.shape == (3, model.config.dim) and np.isfinite(users).all()
    new = model.item_vector_for_new_item("red lipstick shade 999", ["brand1", "cat0"])
    assert new.shape == (model.config.dim,) and np.isfinite(new).all() and np.abs(new).sum() > 0
    # Its title/attribute part agrees with known items that share them.
    assert np.isfinite(model.item_vector_for_new_item(None)).all()


def test_save_load_gives_identical_scores(tmp_path, trained_rule):
    split, model = trained_rule
    model.save(tmp_path / "artifact")
    for name in ("model.keras", "vocab.json", "config.json", "metrics.json"):
        assert (tmp_path / "artifact" / name).exists()
    loaded = TrainedModel.load(tmp_path / "artifact")
    assert loaded.config == model.config
    batch = split.test_inputs.batch(np.arange(20), model.max_len, model.n_gap_buckets)
    np.testing.assert_array_equal(loaded.score(batch), model.score(batch))
    a = model.top_k([[100, 101, 102]], k=4)
    b = loaded.top_k([[100, 101, 102]], k=4)
    assert a[0] == b[0] and a[2] == b[2]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(
        loaded.item_vector_for_new_item("blue lipstick", ["brand2"]),
        model.item_vector_for_new_item("blue lipstick", ["brand2"]),
    )


def test_a_saved_config_without_the_later_fields_had_them_off():
    saved = ModelConfig(dim=16).to_dict()
    for later in ("n_neighbours", "n_content_neighbours"):
        del saved[later]
    restored = ModelConfig.from_saved(saved)
    assert restored.dim == 16
    assert restored.n_neighbours == 0 and restored.n_content_neighbours == 0
    # A run's parameters name some fields: the rest take today's defaults.
    given = ModelConfig.from_dict({"dim": 16, "not_a_field": 1})
    assert given.n_neighbours == ModelConfig().n_neighbours == 10
    assert given.n_content_neighbours == ModelConfig().n_content_neighbours == 10
    assert ModelConfig.from_saved(ModelConfig().to_dict()) == ModelConfig()
