"""Statistics for timing samples: robust summaries, bootstrap confidence intervals, comparisons.

numpy only at import; scipy (Mann-Whitney U) is imported where it is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

P99_MIN_SAMPLES = 662  # fewer samples cannot support a p99 at 95 % confidence (design §5)
P90_MIN_SAMPLES = 30
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_MAX_SAMPLES = 2000  # larger sets are bootstrapped from a random subset: a wider, conservative CI
_SEED = 20261128  # fixed: the same samples always give the same interval


def _bootstrap_medians(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Medians of BOOTSTRAP_RESAMPLES resamples. Cost is resamples x n, so n is capped (at 2000 samples
    the CI is already far tighter than run-to-run variation)."""
    if len(samples) > BOOTSTRAP_MAX_SAMPLES:
        samples = rng.choice(samples, size=BOOTSTRAP_MAX_SAMPLES, replace=False)
    draws = rng.choice(samples, size=(BOOTSTRAP_RESAMPLES, len(samples)), replace=True)
    return np.median(draws, axis=1)


def median_ci_order_statistics(sorted_samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics (binomial); cheap enough for a stop rule."""
    n = len(sorted_samples)
    z = 1.959963984540054 if confidence == 0.95 else _z(confidence)
    half = z * math.sqrt(n) / 2
    low = max(0, int(math.floor(n / 2 - half)))
    high = min(n - 1, int(math.ceil(n / 2 + half)))
    return float(sorted_samples[low]), float(sorted_samples[high])


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2)


def bootstrap_median_ci(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    medians = _bootstrap_medians(np.asarray(samples, float), np.random.default_rng(_SEED))
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100 - tail))


@dataclass
class RatioEstimate:
    """median(b) / median(a) with a bootstrap CI; `significant` only when the CI excludes 1 by more
    than the noise threshold and Mann-Whitney U agrees."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool

    @property
    def label(self) -> str:
        if not self.significant:
            return "no significant difference"
        if self.ratio >= 1:
            return f"{self.ratio:.2f}x slower"
        return f"{1 / self.ratio:.2f}x faster"


def compare_samples(a: np.ndarray, b: np.ndarray, noise_threshold: float = 0.02,
                    confidence: float = 0.95) -> RatioEstimate:
    """How much slower (ratio > 1) or faster b is than a, from per-call time samples of each."""
    from scipy.stats import mannwhitneyu

    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(_SEED)
    med_a, med_b = _bootstrap_medians(a, rng), _bootstrap_medians(b, rng)
    ratios = med_b / med_a
    tail = (1 - confidence) / 2 * 100
    low, high = float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))
    p_value = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    outside_noise = low > 1 + noise_threshold or high < 1 - noise_threshold
    significant = outside_noise and p_value < (1 - confidence)
    return RatioEstimate(float(np.median(b) / np.median(a)), low, high, p_value, significant)
