"""An experiment's report from its exposures: per-arm figures with intervals, tests
against the control, the sample-ratio check and the planned sample size."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from shop.experiments import stats
from shop.experiments.report import experiment_report
from shop.models import Exposure
from tests.shop.experiments.helpers import experiment_made

pytestmark = pytest.mark.django_db


def exposures(experiment, arm_name: str, rows: list[tuple[int, int, str]]) -> None:
    """One exposure per (clicks, purchases, revenue)."""
    arm = experiment.arms.get(name=arm_name)
    Exposure.objects.bulk_create(
        Exposure(
            experiment=experiment,
            arm=arm,
            shopper_key=f"s:{arm_name}-{n}",
            session_id=f"{arm_name}-{n}",
            clicks=clicks,
            purchases=purchases,
            revenue=Decimal(revenue),
        )
        for n, (clicks, purchases, revenue) in enumerate(rows)
    )


def test_per_arm_figures_and_tests_against_the_control():
    experiment = experiment_made(primary_metric="revenue")
    exposures(experiment, "control", [(1, 1, "10")] * 10 + [(0, 0, "0")] * 90)
    exposures(experiment, "lexical", [(2, 1, "30")] * 20 + [(0, 0, "0")] * 80)
    report = experiment_report(experiment=experiment)
    control, lexical = report.arms
    assert (control.shoppers, control.clickers, control.buyers) == (100, 10, 10)
    assert control.metrics["ctr"].value == pytest.approx(0.10)
    assert control.metrics["ctr"].interval == stats.proportion_interval(10, 100)
    assert control.metrics["revenue"].value == pytest.approx(1.0)
    assert lexical.metrics["revenue"].value == pytest.approx(6.0)
    assert lexical.metrics["ctr"].lift == pytest.approx(1.0)
    assert lexical.metrics["ctr"].test == stats.two_proportion_test(10, 100, 20, 100)
    revenue = lexical.metrics["revenue"]
    assert revenue.test == stats.welch_test(control.revenue, lexical.revenue)
    assert revenue.significant and revenue.test.statistic > 0
    assert control.metrics["ctr"].test is None  # the control is not tested against itself
    assert not report.srm_flagged
    # Revenue's planned size comes from the control's observed mean and spread.
    assert report.baseline == pytest.approx(1.0) and report.baseline_observed
    assert report.required_per_arm == stats.sample_size_mean(
        1.0, control.revenue.variance**0.5, 0.1
    )
    assert report.exposures_by_day == [
        (timezone.localdate(), {a.arm.pk: a.shoppers for a in report.arms})
    ]


def test_a_skewed_split_is_flagged_as_a_sample_ratio_mismatch():
    experiment = experiment_made()
    exposures(experiment, "control", [(0, 0, "0")] * 600)
    exposures(experiment, "lexical", [(0, 0, "0")] * 400)
    report = experiment_report(experiment=experiment)
    assert report.srm_flagged and report.srm.p_value < 1e-3


def test_three_arms_are_compared_at_a_bonferroni_corrected_level():
    experiment = experiment_made(
        arms=(
            ("control", 34, {"search_order": "personalized"}),
            ("b", 33, {"search_order": "lexical"}),
            ("c", 33, {"search_order": "lexical"}),
        )
    )
    assert experiment_report(experiment=experiment).alpha == pytest.approx(0.025)


def test_an_experiment_without_exposures_has_no_figures():
    report = experiment_report(experiment=experiment_made())
    assert report.total_shoppers == 0 and report.progress is None
    assert report.arms[0].metrics["ctr"].value is None
    assert report.srm is None and report.required_per_arm is None
