"""A trained model's holdout metrics beside the baselines', as a model version keeps them."""

from __future__ import annotations

from recommender.ml import ItemTransitions, LeaveLastOutSplit, ModelConfig, Popularity, evaluate

METRIC_KEYS = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr", "coverage@10")
TRAINING_KEYS = ("best_epoch", "epochs", "best_val_ndcg@10", "train_seconds")


def holdout_metrics(model, split: LeaveLastOutSplit, config: ModelConfig) -> dict:
    """{"model": row, "baselines": {name: row}, "training": {...}} on the test targets."""
    item_counts = split.train.item_counts()
    metrics = {"model": _evaluated(model, split, config, item_counts)}
    baselines = {
        "popularity": Popularity(split.train, max_len=config.max_len),
        "item_transitions": ItemTransitions(split.train, max_len=config.max_len),
    }
    metrics["baselines"] = {
        name: _evaluated(baseline, split, config, item_counts)
        for name, baseline in baselines.items()
    }
    metrics["training"] = {k: v for k, v in model.metrics.items() if k in TRAINING_KEYS}
    return metrics


def _evaluated(recommender, split: LeaveLastOutSplit, config: ModelConfig, item_counts) -> dict:
    test = (split.test_inputs, split.test_targets, split.users_eval)
    result = evaluate(recommender, *test, item_counts=item_counts, **config.history_encoding())
    return metrics_row(result)


def metrics_row(result: dict) -> dict:
    """The figures a model version keeps of an ``evaluate`` result."""
    head, plain = result["history_excluded"], result.get("no_exclusion", {})
    row = {k: head.get(k) for k in METRIC_KEYS}
    row["users"] = head.get("users")
    row["segments"] = {
        s: {k: v.get(k) for k in ("hr@10", "ndcg@10", "users")}
        for s, v in head.get("segments", {}).items()
    }
    row["no_exclusion"] = {k: plain.get(k) for k in METRIC_KEYS}
    return row
