"""The models page's numbers: every version's run side by side (a group of model rows
per version), its CSV, and charts of the served model's figures over time (one point
per version, oldest first, labelled with its creation date)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from recommender.models import ModelVersion
from recommender.training.scorecard import (
    MEASURES,
    PRODUCT_SEGMENTS,
    SHOPPER_SEGMENTS,
    VALIDATION,
    ModelRow,
    model_rows,
    served_metrics,
    served_name,
)
from shop.dashboards.charts import Chart, Series, csv_writer

BASELINES = (("popularity", "popularity"), ("item_transitions", "item transitions (untuned)"))


@dataclass
class VersionGroup:
    """A version and the models of its run, as rows of the side-by-side table."""

    version: ModelVersion
    rows: list[ModelRow]

    @property
    def served_model(self) -> str:
        return served_name(self.version.metrics)

    @property
    def segment_users(self) -> list[tuple[str, int | None]]:
        """Shoppers in the holdout per segment (the same for every model of the run)."""
        served = served_metrics(self.version.metrics)
        return [(m.label.removesuffix(" NDCG@10"), m.users_of(served)) for m in MEASURES if m.group]


def version_groups(versions: list[ModelVersion]) -> list[VersionGroup]:
    return [VersionGroup(v, model_rows(v.metrics)) for v in versions]


def versions_csv(groups: list[VersionGroup]) -> str:
    """The side-by-side table as CSV: a line per model of each version ("" = n/a)."""
    out = io.StringIO()
    writer = csv_writer(out)
    measures = (VALIDATION, *MEASURES)
    writer.writerow(
        ["version", "created", "active", "model", "kind", "role", *(m.label for m in measures)]
    )
    for group in groups:
        version = group.version
        for row in group.rows:
            writer.writerow(
                [
                    version.pk,
                    version.created_at.isoformat(),
                    "yes" if version.is_active else "",
                    row.name,
                    row.kind,
                    row.role,
                    *("" if cell.value is None else cell.value for cell in row.cells),
                ]
            )
    return out.getvalue()


def _label(version: ModelVersion) -> str:
    return f"v{version.pk} {version.created_at:%Y-%m-%d}"


def version_charts(versions: list[ModelVersion]) -> list[Chart]:
    """Charts of ``versions`` (oldest first): the served model's figures, beside its run's
    baselines, by segment, and its breadth (coverage and popularity)."""
    labels = [_label(v) for v in versions]
    served = [served_metrics(v.metrics) for v in versions]

    def series(measure_key: str, name: str | None = None) -> Series:
        measure = next(m for m in MEASURES if m.key == measure_key)
        return Series(name or measure.label, [measure.of(row) for row in served])

    def baseline(key: str, name: str) -> Series:
        values = [((v.metrics.get("baselines") or {}).get(key) or {}) for v in versions]
        return Series(name, [row.get("ndcg@10") for row in values])

    x_title = "version (created)"
    return [
        Chart(
            "metrics",
            "The served model's holdout figures",
            labels,
            [series("ndcg@10"), series("hr@10"), series("mrr")],
            y_format="decimal",
            x_title=x_title,
        ),
        Chart(
            "baselines",
            "NDCG@10: the served model and its run's baselines",
            labels,
            [series("ndcg@10", "served model"), *(baseline(k, n) for k, n in BASELINES)],
            y_format="decimal",
            x_title=x_title,
        ),
        Chart(
            "segments",
            "NDCG@10 of the served model by shopper and product segment",
            labels,
            [series(s, s) for s in SHOPPER_SEGMENTS]
            + [series(p, f"{p} products") for p in PRODUCT_SEGMENTS],
            y_format="decimal",
            x_title=x_title,
        ),
        Chart(
            "breadth",
            "Coverage and popularity: products in any top-10, top-10 slots of the top 10%",
            labels,
            [series("coverage@10"), series("popular_share@10")],
            y_format="percent",
            x_title=x_title,
        ),
    ]
