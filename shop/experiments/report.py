"""An experiment's results, per arm, from its exposures' counters (the ``experiments``
rollup keeps them; shop.experiments.outcomes) and the statistics of stats.py.

Queries (EXPLAIN ANALYZE, Postgres 15, an experiment of 20,000 exposures beside one of
200,000): the per-arm figures are one aggregate over the experiment's exposures,
``HashAggregate -> Bitmap Heap Scan on shop_exposure -> Bitmap Index Scan on
exposure_arm_time_idx (Index Cond: experiment_id = $1)``; exposures per day the same
scan with a sort by day. One row per exposed shopper, never the events.

Several treatment arms are each compared with the control at alpha / (arms - 1)
(Bonferroni), so that the chance of any false winner stays at alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate

from shop.experiments import stats
from shop.experiments.stats import Interval, Sample, TestResult
from shop.experiments.variants import variant_label
from shop.models import Experiment, ExperimentArm, ExperimentMetric, Exposure

METRICS = (ExperimentMetric.CTR, ExperimentMetric.CONVERSION, ExperimentMetric.REVENUE)


@dataclass
class MetricResult:
    value: float | None
    interval: Interval | None
    lift: float | None = None  # relative to the control
    test: TestResult | None = None  # against the control (None for the control)
    significant: bool = False


@dataclass
class ArmResult:
    arm: ExperimentArm
    shoppers: int
    clickers: int
    buyers: int
    revenue: Sample
    metrics: dict[str, MetricResult] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return variant_label(self.arm.variant)


@dataclass
class Report:
    experiment: Experiment
    arms: list[ArmResult]
    alpha: float  # per comparison (Bonferroni)
    srm: TestResult | None
    srm_flagged: bool
    required_per_arm: int | None  # planned sample size for the primary metric
    baseline: float | None  # the control value it was planned from
    baseline_observed: bool
    exposures_by_day: list[tuple[date, dict[int, int]]]

    @property
    def control(self) -> ArmResult | None:
        return self.arms[0] if self.arms else None

    @property
    def progress(self) -> float | None:
        """The least-filled arm's share of the planned sample size (capped at 1)."""
        if not self.required_per_arm or not self.arms:
            return None
        return min(1.0, min(a.shoppers for a in self.arms) / self.required_per_arm)

    @property
    def sample_reached(self) -> bool:
        return self.progress is not None and self.progress >= 1.0

    @property
    def total_shoppers(self) -> int:
        return sum(a.shoppers for a in self.arms)


def experiment_report(*, experiment: Experiment) -> Report:
    arms = list(experiment.arms.order_by("position"))
    revenue_squared = ExpressionWrapper(
        F("revenue") * F("revenue"), output_field=DecimalField(max_digits=30, decimal_places=4)
    )
    rows = {
        row["arm_id"]: row
        for row in Exposure.objects.filter(experiment=experiment)
        .values("arm_id")
        .annotate(
            shoppers=Count("pk"),
            clickers=Count("pk", filter=Q(clicks__gt=0)),
            buyers=Count("pk", filter=Q(purchases__gt=0)),
            revenue_total=Sum("revenue"),
            revenue_squares=Sum(revenue_squared),
        )
        .order_by()
    }
    results = []
    for arm in arms:
        row = rows.get(arm.pk, {})
        results.append(
            ArmResult(
                arm=arm,
                shoppers=row.get("shoppers", 0),
                clickers=row.get("clickers", 0),
                buyers=row.get("buyers", 0),
                revenue=Sample(
                    row.get("shoppers", 0),
                    float(row.get("revenue_total") or 0),
                    float(row.get("revenue_squares") or 0),
                ),
            )
        )
    alpha = experiment.alpha / max(1, len(arms) - 1)
    _compare(results, alpha)
    srm = stats.sample_ratio_test([a.shoppers for a in results], [a.arm.share for a in results])
    required, baseline, observed = _planned_sample(experiment, results, alpha)
    return Report(
        experiment=experiment,
        arms=results,
        alpha=alpha,
        srm=srm,
        srm_flagged=srm is not None and srm.p_value < stats.SRM_THRESHOLD,
        required_per_arm=required,
        baseline=baseline,
        baseline_observed=observed,
        exposures_by_day=_exposures_by_day(experiment),
    )


def _compare(results: list[ArmResult], alpha: float) -> None:
    """Each arm's metrics with intervals; the treatments' lift and test vs the control."""
    for result in results:
        n = result.shoppers
        result.metrics = {
            ExperimentMetric.CTR: MetricResult(
                result.clickers / n if n else None, stats.proportion_interval(result.clickers, n)
            ),
            ExperimentMetric.CONVERSION: MetricResult(
                result.buyers / n if n else None, stats.proportion_interval(result.buyers, n)
            ),
            ExperimentMetric.REVENUE: MetricResult(
                result.revenue.mean, _not_negative(stats.mean_interval(result.revenue))
            ),
        }
    if not results:
        return
    control = results[0]
    for result in results[1:]:
        tests = {
            ExperimentMetric.CTR: stats.two_proportion_test(
                control.clickers, control.shoppers, result.clickers, result.shoppers
            ),
            ExperimentMetric.CONVERSION: stats.two_proportion_test(
                control.buyers, control.shoppers, result.buyers, result.shoppers
            ),
            ExperimentMetric.REVENUE: stats.welch_test(control.revenue, result.revenue),
        }
        for metric, test in tests.items():
            mine = result.metrics[metric]
            mine.lift = stats.relative_lift(control.metrics[metric].value, mine.value)
            mine.test = test
            mine.significant = test is not None and test.p_value < alpha


def _not_negative(interval: Interval | None) -> Interval | None:
    """Revenue is never negative: a t interval of a skewed mean may reach below 0."""
    return interval and Interval(max(0.0, interval.low), interval.high)


def _planned_sample(
    experiment: Experiment, results: list[ArmResult], alpha: float
) -> tuple[int | None, float | None, bool]:
    """(shoppers per arm, the control value planned from, whether it was observed)."""
    if not results:
        return None, None, False
    control = results[0]
    metric = experiment.primary_metric
    observed = control.metrics[metric].value
    baseline = experiment.baseline if experiment.baseline is not None else observed
    if baseline is None:
        return None, None, False
    if metric == ExperimentMetric.REVENUE:
        variance = control.revenue.variance
        required = (
            stats.sample_size_mean(
                baseline,
                variance**0.5,
                experiment.minimum_detectable_effect,
                alpha=alpha,
                power=experiment.power,
            )
            if variance
            else None
        )
    else:
        required = stats.sample_size_proportion(
            baseline, experiment.minimum_detectable_effect, alpha=alpha, power=experiment.power
        )
    return required, baseline, experiment.baseline is None


def _exposures_by_day(experiment: Experiment) -> list[tuple[date, dict[int, int]]]:
    """New exposed shoppers per day and arm."""
    days: dict[date, dict[int, int]] = {}
    rows = (
        Exposure.objects.filter(experiment=experiment)
        .annotate(day=TruncDate("first_exposed_at"))
        .values("day", "arm_id")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    for row in rows:
        days.setdefault(row["day"], {})[row["arm_id"]] = row["n"]
    return sorted(days.items())


def winner_blockers(report: Report, arm: ExperimentArm) -> list[str]:
    """Why ``arm`` may not be declared the winner yet ([] when it may): every arm must
    have reached the planned sample size, the split must match the shares, and the
    primary metric must say so - a treatment significantly better than the control; the
    control when no treatment is significantly better."""
    blockers = []
    metric = report.experiment.primary_metric
    label = ExperimentMetric(metric).label
    if report.required_per_arm is None:
        blockers.append("The planned sample size is not known yet (no baseline).")
    elif not report.sample_reached:
        blockers.append(
            f"Not every arm has reached the planned {report.required_per_arm:,} shoppers."
        )
    if report.srm_flagged:
        blockers.append("The split between the arms does not match their shares (SRM).")
    results = {r.arm.pk: r for r in report.arms}
    chosen = results.get(arm.pk)
    if chosen is None:
        return [*blockers, "That arm is not one of this experiment's."]
    better = [r for r in report.arms[1:] if _significantly_better(r.metrics[metric])]
    if arm.is_control:
        if better:
            blockers.append(f"A treatment is significantly better on {label}.")
    elif chosen not in better:
        blockers.append(f"This arm is not significantly better than the control on {label}.")
    return blockers


def _significantly_better(result: MetricResult) -> bool:
    return result.significant and result.test is not None and result.test.statistic > 0
