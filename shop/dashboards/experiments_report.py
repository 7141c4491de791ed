"""What the experiment report page shows: the per-arm table (also as CSV), the charts,
the sample-ratio check and the progress to the planned sample size."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from shop.dashboards.charts import Chart, Series, csv_writer, format_value
from shop.experiments.report import METRICS, ArmResult, Report
from shop.experiments.stats import Interval
from shop.models import ExperimentMetric

METRIC_FORMATS = {
    ExperimentMetric.CTR: "percent",
    ExperimentMetric.CONVERSION: "percent",
    ExperimentMetric.REVENUE: "money",
}
METRIC_NAMES = {
    ExperimentMetric.CTR: "Click-through",
    ExperimentMetric.CONVERSION: "Conversion",
    ExperimentMetric.REVENUE: "Revenue per shopper",
}


@dataclass(frozen=True)
class Cell:
    """One metric of one arm as the table prints it."""

    value: str
    interval: str
    lift: str
    p_value: str
    significant: bool
    primary: bool


@dataclass(frozen=True)
class ArmRow:
    result: ArmResult
    expected_share: str  # of the exposed shoppers
    observed_share: str
    cells: list[Cell]


def report_rows(report: Report) -> list[ArmRow]:
    total = report.total_shoppers
    rows = []
    for result in report.arms:
        cells = []
        for metric in METRICS:
            mine = result.metrics[metric]
            kind = METRIC_FORMATS[metric]
            cells.append(
                Cell(
                    value=_figure(mine.value, kind),
                    interval=_interval(mine.interval, kind),
                    lift="" if result.arm.is_control else _signed_percent(mine.lift),
                    p_value="" if result.arm.is_control else _p_value(mine.test),
                    significant=mine.significant,
                    primary=metric == report.experiment.primary_metric,
                )
            )
        rows.append(
            ArmRow(
                result=result,
                expected_share=f"{result.arm.share}%",
                observed_share=f"{result.shoppers / total * 100:.1f}%" if total else "n/a",
                cells=cells,
            )
        )
    return rows


def report_csv(report: Report) -> str:
    """The per-arm table, unformatted: one row per arm."""
    out = io.StringIO()
    writer = csv_writer(out)
    header = ["arm", "control", "variant", "share_percent", "shoppers"]
    for metric in METRICS:
        header += [
            f"{metric}",
            f"{metric}_ci_low",
            f"{metric}_ci_high",
            f"{metric}_lift",
            f"{metric}_p_value",
        ]
    writer.writerow(header)
    for result in report.arms:
        row = [
            result.arm.name,
            result.arm.is_control,
            result.label,
            result.arm.share,
            result.shoppers,
        ]
        for metric in METRICS:
            mine = result.metrics[metric]
            row += [
                _raw(mine.value),
                _raw(mine.interval.low if mine.interval else None),
                _raw(mine.interval.high if mine.interval else None),
                _raw(mine.lift),
                _raw(mine.test.p_value if mine.test else None),
            ]
        writer.writerow(row)
    return out.getvalue()


def report_charts(report: Report) -> list[Chart]:
    names = [r.arm.name for r in report.arms]
    return [
        _exposures_chart(report),
        Chart(
            key="rates",
            title="Click-through and conversion per arm",
            labels=names,
            series=[
                Series(METRIC_NAMES[m], [r.metrics[m].value for r in report.arms])
                for m in (ExperimentMetric.CTR, ExperimentMetric.CONVERSION)
            ],
            kind="bar",
            y_format="percent",
            x_title="arm",
        ),
        Chart(
            key="revenue",
            title="Revenue per shopper per arm",
            labels=names,
            series=[
                Series(
                    METRIC_NAMES[ExperimentMetric.REVENUE],
                    [r.metrics[ExperimentMetric.REVENUE].value for r in report.arms],
                )
            ],
            kind="bar",
            y_format="number",
            x_title="arm",
        ),
    ]


def _exposures_chart(report: Report) -> Chart:
    """Exposed shoppers so far per arm, on every day from the first exposure."""
    days = [day for day, _ in report.exposures_by_day]
    labels: list[str] = []
    series = {r.arm.pk: [] for r in report.arms}
    if days:
        per_day = dict(report.exposures_by_day)
        running = dict.fromkeys(series, 0)
        day = days[0]
        while day <= days[-1]:
            labels.append(day.isoformat())
            for arm_id, count in per_day.get(day, {}).items():
                running[arm_id] = running.get(arm_id, 0) + count
            for arm_id, values in series.items():
                values.append(running[arm_id])
            day += timedelta(days=1)
    return Chart(
        key="exposures",
        title="Exposed shoppers per arm (cumulative)",
        labels=labels,
        series=[Series(r.arm.name, series[r.arm.pk]) for r in report.arms],
        x_title="day",
    )


def _figure(value: float | None, kind: str) -> str:
    if kind == "money":
        return "n/a" if value is None else f"{value:,.2f}"
    return format_value(value, kind)


def _interval(interval: Interval | None, kind: str) -> str:
    if interval is None:
        return ""
    return f"{_figure(interval.low, kind)} – {_figure(interval.high, kind)}"


def _signed_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}%"


def _p_value(test) -> str:
    if test is None:
        return "n/a"
    return "< 0.0001" if test.p_value < 1e-4 else f"{test.p_value:.4f}"


def _raw(value) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
