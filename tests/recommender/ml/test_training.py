"""fit(): the transformer learns a known rule; losses, stops and annealing end to end."""

import numpy as np
import pytest

from recommender.ml import TrainedModel, evaluate, fit, leave_last_out
from recommender.ml.config import FULL_SOFTMAX_MAX_ITEMS, ModelConfig
from recommender.ml.data import OOV
from recommender.ml.training import item_id_table


def test_learns_deterministic_next_item_rule(trained_rule):
    split, model = trained_rule
    out = evaluate(model, split.test_inputs, split.test_targets, split.users_eval, ks=(1, 10))
    assert out["history_excluded"]["hr@1"] > 0.9
    assert out["no_exclusion"]["hr@1"] > 0.9
    assert model.metrics["best_val_ndcg@10"] > 0.9
    assert model.metrics["device"].startswith(("CPU", "GPU"))
    assert model.metrics["train_seconds"] > 0


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
    assert ModelConfig().loss == "auto"
    assert ModelConfig().resolved_loss(FULL_SOFTMAX_MAX_ITEMS) == "full"
    assert ModelConfig().resolved_loss(FULL_SOFTMAX_MAX_ITEMS + 1) == "sampled"
    assert ModelConfig(loss="sampled").resolved_loss(10) == "sampled"
    with pytest.raises(ValueError, match="loss must be"):
        ModelConfig(loss="softmax")
    data, features, _ = rule_data
    model = fit(leave_last_out(data), features, tiny_config.replace(loss="auto", max_epochs=1))
    assert model.metrics["loss"] == "full"  # recorded with the run


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


def test_items_without_training_events_use_the_oov_id_embedding():
    table = item_id_table(np.array([0, 0, 3, 0, 1]))
    assert table.tolist() == [0, OOV, 2, OOV, 4]
