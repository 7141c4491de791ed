import numpy as np
import pytest

from recommender.ml import TrainedModel, evaluate, fit, leave_last_out


def test_learns_deterministic_next_item_rule(trained_rule):
    split, model = trained_rule
    out = evaluate(model, split.test_inputs, split.test_targets, split.users_eval, ks=(1, 10))
    assert out["history_excluded"]["hr@1"] > 0.9
    assert out["no_exclusion"]["hr@1"] > 0.9
    assert model.metrics["best_val_ndcg@10"] > 0.9
    assert model.metrics["device"].startswith(("CPU", "GPU"))
    assert model.metrics["train_seconds"] > 0


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


def test_progress_callback_can_stop_and_sampled_loss_runs(rule_data, tiny_config):
    data, features, _ = rule_data
    split = leave_last_out(data)
    seen = []

    def progress(report):
        seen.append(report)
        return report["stage"] != "epoch"

    model = fit(
        split,
        features,
        tiny_config.replace(loss="sampled", n_negatives=8, max_epochs=5, eval_every=1),
        progress=progress,
        progress_every=2,
    )
    assert model.metrics["epochs"] == 1
    assert {r["stage"] for r in seen} == {"step", "epoch"}
    assert seen[-1]["val_ndcg@10"] is not None


@pytest.mark.parametrize("precision", ["on"])
def test_mixed_precision_path_runs(rule_data, tiny_config, precision, tmp_path):
    data, features, _ = rule_data
    split = leave_last_out(data)
    model = fit(
        split, features, tiny_config.replace(mixed_precision=precision, max_epochs=1, eval_every=1)
    )
    assert model.metrics["mixed_precision"] is True
    model.save(tmp_path / "mp")
    loaded = TrainedModel.load(tmp_path / "mp")
    batch = split.test_inputs.batch(np.arange(4), model.max_len, model.n_gap_buckets)
    np.testing.assert_allclose(loaded.score(batch), model.score(batch), rtol=2e-2, atol=2e-2)


def test_auto_loss_is_full_for_a_small_catalogue_and_sampled_for_a_large_one(
    rule_data, tiny_config
):
    from recommender.ml.config import FULL_SOFTMAX_MAX_ITEMS, ModelConfig

    assert ModelConfig().loss == "auto"
    assert ModelConfig().resolved_loss(FULL_SOFTMAX_MAX_ITEMS) == "full"
    assert ModelConfig().resolved_loss(FULL_SOFTMAX_MAX_ITEMS + 1) == "sampled"
    assert ModelConfig(loss="sampled").resolved_loss(10) == "sampled"
    with pytest.raises(ValueError, match="loss must be"):
        ModelConfig(loss="softmax")
    data, features, _ = rule_data
    model = fit(leave_last_out(data), features, tiny_config.replace(loss="auto", max_epochs=1))
    assert model.metrics["loss"] == "full"  # recorded with the run


@pytest.mark.parametrize("dense", [False, True])
def test_seen_items_leave_the_softmax_of_later_positions_only(dense):
    import tensorflow as tf

    from recommender.ml.losses import without_seen_items as _without_seen

    items = tf.constant([[0, 5, 3, 5], [4, 2, 6, 7]], tf.int32)  # left-padded, row 0 repeats 5
    targets = tf.constant([[0, 3, 5, 6], [2, 6, 7, 4]], tf.int32)
    keep = tf.reshape(targets, [-1]) > 0
    y = tf.reshape(targets, [-1]) if dense else tf.boolean_mask(tf.reshape(targets, [-1]), keep)
    logits = tf.zeros((int(tf.shape(y)[0]), 9))
    out = _without_seen(logits, items, y, None if dense else keep).numpy()
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


def test_training_without_seen_items_still_learns_the_rule(rule_data, tiny_config):
    data, features, _ = rule_data
    split = leave_last_out(data)
    model = fit(split, features, tiny_config.replace(exclude_seen_in_loss=True))
    out = evaluate(model, split.test_inputs, split.test_targets, split.users_eval, ks=(1,))
    assert out["history_excluded"]["hr@1"] > 0.9


def test_a_validation_plateau_anneals_from_the_best_weights(rule_data, tiny_config):
    data, features, _ = rule_data
    split = leave_last_out(data)
    config = tiny_config.replace(plateau_lr_factor=0.5, eval_every=1, patience=3, max_epochs=30)
    model = fit(split, features, config)
    rates = [r["learning_rate"] for r in model.metrics["history"] if "learning_rate" in r]
    # The rule is learnt (validation NDCG@10 1.0) long before 30 epochs: every later
    # evaluation is no better, halves the rate, and `patience` of them stop training.
    assert len(rates) == 3
    np.testing.assert_allclose(rates, [config.learning_rate * 0.5**k for k in (1, 2, 3)], rtol=1e-5)
    assert model.metrics["epochs"] < 30
    with pytest.raises(ValueError, match="plateau_lr_factor"):
        config.replace(plateau_lr_factor=0.0)
