"""The statistics of an A/B test, as pure functions of per-arm summaries (no Django).

- Proportions (click-through, conversion: the share of exposed shoppers who clicked,
  who bought): Wilson score intervals, and the pooled two-proportion z-test of an arm
  against the control.
- Revenue per shopper (a mean over shoppers, most of them zero): t intervals, and
  Welch's t-test (unequal variances) from each arm's count, sum and sum of squares, so
  that the report never loads the shoppers one by one.
- Sample-ratio mismatch: a chi-square goodness-of-fit test of the exposed shoppers per
  arm against the configured shares, flagged at p < 0.001 (a broken assignment or
  exposure logging, not chance).
- The planned sample size per arm for a relative minimum detectable effect, at the
  experiment's alpha (two-sided) and power.

tests/shop/experiments/test_stats_simulation.py checks the tests' power and their
false-positive rate over many simulated experiments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as scipy_stats

SRM_THRESHOLD = 1e-3
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class TestResult:
    statistic: float
    p_value: float


@dataclass(frozen=True)
class Sample:
    """Per-shopper values of one arm, summarised: n shoppers, the sum and the sum of
    squares of their values."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The unbiased sample variance (None below two shoppers)."""
        if self.n < 2:
            return None
        return max(0.0, (self.total_squares - self.total**2 / self.n) / (self.n - 1))


def proportion_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson score interval of ``successes / n`` (None without shoppers): unlike the
    normal approximation it stays inside [0, 1] and behaves near 0 (few buyers)."""
    if n <= 0:
        return None
    z = scipy_stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(sample: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    """Student's t interval of the mean (None below two shoppers)."""
    variance = sample.variance
    if variance is None:
        return None
    half = scipy_stats.t.ppf(0.5 + confidence / 2, sample.n - 1) * math.sqrt(variance / sample.n)
    return Interval(sample.mean - half, sample.mean + half)


def two_proportion_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> TestResult | None:
    """Pooled two-proportion z-test of b against a, two-sided (None when either arm has
    no shoppers or nobody, or everybody, succeeded in both)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return None
    z = (successes_b / n_b - successes_a / n_a) / math.sqrt(variance)
    return TestResult(z, float(2 * scipy_stats.norm.sf(abs(z))))


def welch_test(a: Sample, b: Sample) -> TestResult | None:
    """Welch's t-test of b's mean against a's, two-sided (None below two shoppers per
    arm, or when neither arm varies)."""
    if a.variance is None or b.variance is None or (a.variance == 0 and b.variance == 0):
        return None
    result = scipy_stats.ttest_ind_from_stats(
        b.mean, math.sqrt(b.variance), b.n, a.mean, math.sqrt(a.variance), a.n, equal_var=False
    )
    return TestResult(float(result.statistic), float(result.pvalue))


def difference_interval(
    successes_a: int, n_a: int, successes_b: int, n_b: int, confidence: float = CONFIDENCE
) -> Interval | None:
    """Normal (unpooled) interval of the difference of two proportions, b - a."""
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    z = scipy_stats.norm.ppf(0.5 + confidence / 2)
    half = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return Interval(p_b - p_a - half, p_b - p_a + half)


def sample_ratio_test(observed: Sequence[int], shares: Sequence[float]) -> TestResult | None:
    """Chi-square goodness of fit of the shoppers per arm against the arms' shares
    (any scale: percents or fractions). None without shoppers."""
    total = sum(observed)
    if total <= 0 or len(observed) < 2:
        return None
    weight = sum(shares)
    expected = [total * share / weight for share in shares]
    result = scipy_stats.chisquare(list(observed), expected)
    return TestResult(float(result.statistic), float(result.pvalue))


def sample_ratio_mismatch(observed: Sequence[int], shares: Sequence[float]) -> bool:
    result = sample_ratio_test(observed, shares)
    return result is not None and result.p_value < SRM_THRESHOLD


def sample_size_proportion(
    baseline: float, relative_effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Shoppers per arm for a two-sided two-proportion test to detect ``baseline`` ->
    ``baseline * (1 + relative_effect)`` (None when that is not a rate in (0, 1))."""
    treated = baseline * (1 + relative_effect)
    if not (0 < baseline < 1 and 0 < treated < 1) or treated == baseline:
        return None
    z_alpha = scipy_stats.norm.ppf(1 - alpha / 2)
    z_power = scipy_stats.norm.ppf(power)
    mean = (baseline + treated) / 2
    numerator = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        baseline * (1 - baseline) + treated * (1 - treated)
    )
    return math.ceil(numerator**2 / (treated - baseline) ** 2)


def sample_size_mean(
    baseline_mean: float,
    standard_deviation: float,
    relative_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int | None:
    """Shoppers per arm for a two-sided test of means to detect a relative lift of the
    mean (normal approximation; None without a positive mean and spread)."""
    delta = baseline_mean * relative_effect
    if baseline_mean <= 0 or standard_deviation <= 0 or delta == 0:
        return None
    z_alpha = scipy_stats.norm.ppf(1 - alpha / 2)
    z_power = scipy_stats.norm.ppf(power)
    return math.ceil(2 * (z_alpha + z_power) ** 2 * standard_deviation**2 / delta**2)


def relative_lift(control: float | None, arm: float | None) -> float | None:
    """(arm - control) / control; None when the control is zero or unknown."""
    if control is None or arm is None or control == 0:
        return None
    return (arm - control) / control
