"""A run's holdout metrics: every candidate's and the baselines', as a model version
keeps them; and reading them back as staff compare them ("n/a" where a version was
trained before a figure existed, or a segment had no shoppers)."""

from __future__ import annotations

from recommender.ml import (
    ItemTransitions,
    LeaveLastOutSplit,
    ModelConfig,
    Popularity,
    Selection,
    evaluate,
)

METRIC_KEYS = (
    "hr@10",
    "ndcg@10",
    "hr@20",
    "ndcg@20",
    "mrr",
    "coverage@10",
    "popularity_bias@10",
    "popular_share@10",
)
SEGMENT_KEYS = ("hr@10", "ndcg@10", "mrr", "users")
TRAINING_KEYS = ("best_epoch", "epochs", "best_val_ndcg@10", "train_seconds")
CANDIDATE_KEYS = ("kind", "validation_ndcg@10", "params", "served")


def holdout_metrics(selection: Selection, split: LeaveLastOutSplit, config: ModelConfig) -> dict:
    """The test targets' figures of a run.

    Returns:
        {"model": the served candidate's row (with its "name" and "kind"),
         "candidates": {name: row + "kind", "validation_ndcg@10", "params", "served"},
         "baselines": {name: row} (untuned), "training": the transformer's run}.
    """
    item_counts = split.train.item_counts()
    candidates = {
        name: {
            **_evaluated(candidate.model, split, config, item_counts),
            "kind": candidate.model.kind,
            "validation_ndcg@10": candidate.validation_ndcg,
            "params": candidate.params,
            "served": candidate.model is selection.served,
        }
        for name, candidate in selection.candidates.items()
    }
    served = candidates[selection.served.name]
    metrics = {
        "model": {**_row_of(served), "name": selection.served.name, "kind": served["kind"]},
        "candidates": candidates,
    }
    baselines = {
        "popularity": Popularity(split.train, max_len=config.max_len),
        "item_transitions": ItemTransitions(split.train, max_len=config.max_len),
    }
    metrics["baselines"] = {
        name: _evaluated(baseline, split, config, item_counts)
        for name, baseline in baselines.items()
    }
    training = selection.transformer.metrics
    metrics["training"] = {k: v for k, v in training.items() if k in TRAINING_KEYS}
    return metrics


def _row_of(candidate: dict) -> dict:
    """A candidate's test row without what only candidates have."""
    return {k: v for k, v in candidate.items() if k not in CANDIDATE_KEYS}


def _evaluated(recommender, split: LeaveLastOutSplit, config: ModelConfig, item_counts) -> dict:
    test = (split.test_inputs, split.test_targets, split.users_eval)
    result = evaluate(recommender, *test, item_counts=item_counts, **config.history_encoding())
    return metrics_row(result)


def metrics_row(result: dict) -> dict:
    """The figures a model version keeps of an ``evaluate`` result.

    Its earlier items excluded: METRIC_KEYS (popular_share@10: the share of the top-10
    slots taken by the most popular 10% of products; popularity_bias@10: their mean
    training events over the catalogue's), "users", and SEGMENT_KEYS per shopper
    segment ("segments": cold 0-3 events read, warm 4-10, hot 11+) and per product
    segment ("products": "new" targets had at most
    recommender.ml.segments.NEW_PRODUCT_MAX_TRAINING_EVENTS training events, 0 meaning
    first seen after the training cutoff; "known" the rest). A segment without shoppers
    keeps users 0 and None figures. "no_exclusion": METRIC_KEYS with nothing excluded.
    """
    head, plain = result["history_excluded"], result.get("no_exclusion", {})
    row = {k: head.get(k) for k in METRIC_KEYS}
    row["users"] = head.get("users")
    for group in ("segments", "products"):
        row[group] = {
            name: {k: figures.get(k) for k in SEGMENT_KEYS}
            for name, figures in head.get(group, {}).items()
        }
    row["no_exclusion"] = {k: plain.get(k) for k in METRIC_KEYS}
    return row
