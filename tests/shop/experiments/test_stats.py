"""The experiments' statistics on cases with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from shop.experiments import stats
from shop.experiments.stats import Sample


def sample_of(values) -> Sample:
    values = np.asarray(values, dtype=float)
    return Sample(len(values), float(values.sum()), float((values**2).sum()))


def test_wilson_interval_matches_the_textbook_example():
    # Newcombe (1998), 81 of 263: 0.2553 to 0.3662.
    interval = stats.proportion_interval(81, 263)
    assert interval.low == pytest.approx(0.2553, abs=1e-4)
    assert interval.high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_interval_stays_inside_zero_and_one_and_needs_shoppers():
    assert stats.proportion_interval(0, 20).low == 0.0
    assert stats.proportion_interval(20, 20).high == 1.0
    assert stats.proportion_interval(0, 0) is None


def test_two_proportion_test_agrees_with_the_pooled_formula():
    result = stats.two_proportion_test(100, 1000, 130, 1000)
    pooled = 230 / 2000
    z = (0.13 - 0.10) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert result.statistic == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * scipy_stats.norm.sf(z))
    assert result.statistic > 0  # b better than a


def test_two_proportion_test_without_shoppers_or_variation_is_none():
    assert stats.two_proportion_test(0, 0, 1, 10) is None
    assert stats.two_proportion_test(0, 10, 0, 10) is None


def test_welch_test_from_summaries_equals_scipy_on_the_raw_values():
    rng = np.random.default_rng(1)
    a = rng.exponential(10, 300)
    b = rng.exponential(12, 200)
    expected = scipy_stats.ttest_ind(b, a, equal_var=False)
    result = stats.welch_test(sample_of(a), sample_of(b))
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_mean_interval_is_the_t_interval():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    interval = stats.mean_interval(sample_of(values))
    low, high = scipy_stats.t.interval(0.95, 4, loc=np.mean(values), scale=scipy_stats.sem(values))
    assert (interval.low, interval.high) == (pytest.approx(low), pytest.approx(high))
    assert stats.mean_interval(sample_of([5.0])) is None


def test_sample_size_for_ten_versus_twelve_percent():
    # The classic figure: 3,841 per arm at alpha 0.05 (two-sided) and 80% power.
    assert stats.sample_size_proportion(0.10, 0.20, alpha=0.05, power=0.8) == 3841
    assert stats.sample_size_proportion(0.10, 0.20, alpha=0.05, power=0.9) == 5142
    # A smaller effect needs more shoppers; an impossible rate has no answer.
    assert stats.sample_size_proportion(0.10, 0.10) > 3841
    assert stats.sample_size_proportion(0.6, 1.0) is None


def test_sample_size_for_a_mean_grows_with_the_spread():
    small = stats.sample_size_mean(5.0, 10.0, 0.1)
    assert small == math.ceil(2 * (1.959964 + 0.841621) ** 2 * 100 / 0.25)
    assert stats.sample_size_mean(5.0, 20.0, 0.1) == pytest.approx(4 * small, rel=1e-3)
    assert stats.sample_size_mean(0.0, 10.0, 0.1) is None


def test_sample_ratio_test_against_the_configured_shares():
    fair = stats.sample_ratio_test([5000, 5000], [50, 50])
    assert fair.p_value == pytest.approx(1.0)
    skewed = stats.sample_ratio_test([900, 100], [80, 20])
    assert skewed.statistic == pytest.approx(100**2 / 800 + 100**2 / 200)
    assert stats.sample_ratio_test([0, 0], [50, 50]) is None


def test_relative_lift():
    assert stats.relative_lift(0.10, 0.12) == pytest.approx(0.2)
    assert stats.relative_lift(0.0, 0.12) is None
