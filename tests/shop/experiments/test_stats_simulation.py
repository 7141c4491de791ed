"""The tests of shop.experiments.stats over many simulated experiments (seeded, a few
seconds): a known true lift is found about as often as the planned power says, an A/A
test is "significant" about as often as alpha says, and the sample-ratio check fires on
a skewed split but not on a fair one."""

from __future__ import annotations

import math

import numpy as np

from shop.experiments import stats
from shop.experiments.stats import Sample

ALPHA = 0.05
RUNS = 1000


def within_binomial(rate: float, expected: float, runs: int, sigmas: float = 3.0) -> bool:
    return abs(rate - expected) <= sigmas * math.sqrt(expected * (1 - expected) / runs)


def proportion_rejections(rng, p_a: float, p_b: float, n: int, runs: int) -> float:
    successes_a = rng.binomial(n, p_a, runs)
    successes_b = rng.binomial(n, p_b, runs)
    rejected = 0
    for a, b in zip(successes_a, successes_b, strict=True):
        result = stats.two_proportion_test(int(a), n, int(b), n)
        rejected += result is not None and result.p_value < ALPHA
    return rejected / runs


def revenue_samples(rng, n: int, runs: int, buy_rate: float, mean_basket: float):
    """Per-shopper revenue of ``runs`` arms of ``n`` shoppers: most spend nothing, the
    buyers a skewed (log-normal) amount: what revenue per shopper looks like."""
    buys = rng.random((runs, n)) < buy_rate
    sigma = 1.0
    baskets = rng.lognormal(math.log(mean_basket) - sigma**2 / 2, sigma, (runs, n))
    values = np.where(buys, baskets, 0.0)
    return [Sample(n, float(row.sum()), float((row**2).sum())) for row in values]


def test_a_true_ctr_lift_is_found_in_about_ninety_percent_of_runs():
    rng = np.random.default_rng(2024)
    n = stats.sample_size_proportion(0.10, 0.20, alpha=ALPHA, power=0.9)  # 10% -> 12%
    power = proportion_rejections(rng, 0.10, 0.12, n, RUNS)
    assert power >= 0.85  # planned 0.90; a broken test finds it far less often
    assert within_binomial(power, 0.90, RUNS)


def test_an_aa_test_rejects_at_the_stated_false_positive_rate_for_proportions():
    rng = np.random.default_rng(7)
    rate = proportion_rejections(rng, 0.10, 0.10, 4000, RUNS)
    assert within_binomial(rate, ALPHA, RUNS), rate


def test_an_aa_test_rejects_at_the_stated_false_positive_rate_for_revenue():
    rng = np.random.default_rng(11)
    arms_a = revenue_samples(rng, 2000, RUNS, buy_rate=0.05, mean_basket=40.0)
    arms_b = revenue_samples(rng, 2000, RUNS, buy_rate=0.05, mean_basket=40.0)
    rejected = sum(
        stats.welch_test(a, b).p_value < ALPHA for a, b in zip(arms_a, arms_b, strict=True)
    )
    assert within_binomial(rejected / RUNS, ALPHA, RUNS), rejected / RUNS


def test_a_true_revenue_lift_is_found_by_welchs_test_at_the_planned_size():
    rng = np.random.default_rng(5)
    runs = 300
    # Control: 5% buy a log-normal basket of mean 40 (sigma 1): mean 2.0 per shopper.
    mean = 0.05 * 40.0
    deviation = math.sqrt(0.05 * 40.0**2 * math.e - mean**2)
    n = stats.sample_size_mean(mean, deviation, 0.4, alpha=ALPHA, power=0.9)  # +40%
    arms_a = revenue_samples(rng, n, runs, buy_rate=0.05, mean_basket=40.0)
    arms_b = revenue_samples(rng, n, runs, buy_rate=0.07, mean_basket=40.0)
    found = 0
    for a, b in zip(arms_a, arms_b, strict=True):
        result = stats.welch_test(a, b)
        found += result.p_value < ALPHA and result.statistic > 0
    # Planned at 90% power from the control's spread (the treatment's is a little
    # larger, so somewhat less is expected).
    assert found / runs >= 0.8


def test_sample_ratio_mismatch_fires_on_a_52_48_split_at_large_n():
    rng = np.random.default_rng(3)
    n = 50_000  # a 2-point skew is over 5 standard errors off at this size
    flagged = sum(
        stats.sample_ratio_mismatch([int(a), n - int(a)], [50, 50])
        for a in rng.binomial(n, 0.52, 200)
    )
    assert flagged >= 198


def test_sample_ratio_mismatch_stays_quiet_on_a_fair_split():
    rng = np.random.default_rng(4)
    n = 50_000
    flagged = sum(
        stats.sample_ratio_mismatch([int(a), n - int(a)], [50, 50])
        for a in rng.binomial(n, 0.50, RUNS)
    )
    # The threshold is p < 0.001: about one false alarm per thousand fair experiments.
    assert flagged <= 4
    # Uneven shares are honoured: 80/20 observed as planned is no mismatch.
    assert not stats.sample_ratio_mismatch([16_050, 3_950], [80, 20])
