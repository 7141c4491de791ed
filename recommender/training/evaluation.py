"""A run's holdout metrics: every candidate's and the baselines', as a model version
keeps them; and reading them back as staff compare them ("n/a" where a version was
trained before a figure existed, or a segment had no shoppers)."""

from __future__ import annotations

from dataclasses import dataclass

from recommender.ml import (
    ItemTransitions,
    LeaveLastOutSplit,
    ModelConfig,
    Popularity,
    Selection,
    evaluate,
)
from shop.dashboards.charts import format_value

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
    recommender.ml.metrics.NEW_PRODUCT_MAX_TRAINING_EVENTS training events, 0 meaning
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


# Reading a version's kept metrics back, as staff compare them (the models dashboard,
# the version's admin page, the activation confirmation page).

SHOPPER_SEGMENTS = ("cold", "warm", "hot")
PRODUCT_SEGMENTS = ("new", "known")


@dataclass(frozen=True)
class Measure:
    """One figure of a kept row: ``key`` of the row, or (with ``group``) NDCG@10 of the
    segment ``key`` of ``row[group]``. None (shown "n/a") when the row lacks it (a
    version trained before it was measured) or the segment had no shoppers."""

    key: str
    label: str
    y_format: str = "decimal"  # as shop.dashboards.charts.format_value prints it
    group: str = ""  # "segments" (shoppers) or "products"
    description: str = ""
    higher_is_better: bool = True

    def of(self, row: dict) -> float | None:
        if not self.group:
            return row.get(self.key)
        segment = (row.get(self.group) or {}).get(self.key) or {}
        if segment.get("users") == 0:
            return None  # kept as 0.0 by versions trained before empty segments said so
        return segment.get("ndcg@10")

    def users_of(self, row: dict) -> int | None:
        """Shoppers the figure is over (segments only; None when not kept)."""
        if not self.group:
            return None
        return ((row.get(self.group) or {}).get(self.key) or {}).get("users")


VALIDATION = Measure("validation_ndcg@10", "validation NDCG@10", description="chose the served")
MEASURES = (
    Measure("ndcg@10", "NDCG@10"),
    Measure("hr@10", "HR@10"),
    Measure("mrr", "MRR"),
    Measure("coverage@10", "coverage@10", "percent", description="products in any top-10"),
    Measure(
        "popular_share@10",
        "top-10% share",
        "percent",
        description="top-10 slots taken by the most popular 10% of products",
        higher_is_better=False,
    ),
    *(
        Measure(s, f"{s} NDCG@10", group="segments", description=f"{s} shoppers")
        for s in SHOPPER_SEGMENTS
    ),
    *(
        Measure(p, f"{p} products NDCG@10", group="products", description=f"{p} products")
        for p in PRODUCT_SEGMENTS
    ),
)


@dataclass(frozen=True)
class Cell:
    """A figure and how to print it ("n/a" for None), with its shoppers if a segment's."""

    value: float | None
    y_format: str = "decimal"
    users: int | None = None

    def __str__(self) -> str:
        return format_value(self.value, self.y_format)


@dataclass(frozen=True)
class ModelRow:
    """One model of a version's run: a candidate (``role`` "served" for the one the
    version serves) or a baseline."""

    name: str
    kind: str
    role: str  # "served", "candidate" or "baseline"
    metrics: dict

    @property
    def cells(self) -> list[Cell]:
        """VALIDATION, then MEASURES (the columns of the tables staff compare)."""
        return [
            Cell(m.of(self.metrics), m.y_format, m.users_of(self.metrics))
            for m in (VALIDATION, *MEASURES)
        ]


def model_rows(metrics: dict) -> list[ModelRow]:
    """Every candidate of the run (the served one marked), then the baselines. A version
    trained before candidates existed has one model row: the transformer it served."""
    candidates = metrics.get("candidates")
    if candidates:
        rows = [
            ModelRow(name, m.get("kind", ""), "served" if m.get("served") else "candidate", m)
            for name, m in candidates.items()
        ]
    else:
        rows = [ModelRow("model", "transformer", "served", metrics.get("model") or {})]
    return rows + [
        # The run's untuned item transitions beside its tuned candidate of the same name.
        ModelRow(
            f"{name} (untuned)" if name in (candidates or {}) else name, "baseline", "baseline", m
        )
        for name, m in (metrics.get("baselines") or {}).items()
    ]


def served_metrics(metrics: dict) -> dict:
    """The served model's kept row."""
    return metrics.get("model") or {}


def served_name(metrics: dict) -> str:
    model = served_metrics(metrics)
    return model.get("name") or ("sasrec_fused" if model else "")


def segment_table(row: dict) -> list[tuple[str, str, list[Cell]]]:
    """(group label, segment, [NDCG@10, HR@10, MRR, shoppers]) of each segment of a row."""
    table = []
    for group, label, names in (
        ("segments", "shoppers", SHOPPER_SEGMENTS),
        ("products", "products", PRODUCT_SEGMENTS),
    ):
        for name in names:
            figures = (row.get(group) or {}).get(name) or {}
            users = figures.get("users")
            cells = [
                Cell(None if users == 0 else figures.get(key))
                for key in ("ndcg@10", "hr@10", "mrr")
            ]
            table.append((label, name, [*cells, Cell(users, "number")]))
    return table
