"""Reading a model version's kept metrics back, as staff compare them (the models
dashboard, the version's admin page, the activation confirmation page): "n/a" where a
version was trained before a figure existed, or a segment had no shoppers.

Apart from recommender.training.evaluation, which computes them: this module loads no
TensorFlow, so the web processes that import the admin do not either."""

from __future__ import annotations

from dataclasses import dataclass

from shop.dashboards.charts import format_value

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
