"""Many comparisons at once: a run compares hundreds of configurations, and at 5 % each, identical code
"differs" somewhere in most runs (178 intervals at 95 % give ~9 false flags). Two corrections, for two questions:

- **The gate** (`compare --fail-on median:5%`) asks one question — did anything regress beyond the threshold? —
  and a false answer is a red build on a no-op change. It controls the family-wise error rate with **Holm**'s
  step-down: valid whatever the dependence between configurations (they share processes and machine state), and
  never less powerful than Bonferroni.
- **Verdict columns** (effects, compare's faster/slower) are a list of discoveries read one by one; most runtime
  effects are real (3-70x), so controlling the chance of even one false entry would hide true ones. They control
  the false discovery rate with **Benjamini–Hochberg** (at most 5 % of the listed differences false on average;
  valid under the positive dependence shared machine noise produces).
"""

from __future__ import annotations

import math
from typing import Sequence

ALPHA = 0.05
HOLM = "Holm (family-wise error 5 %)"
BENJAMINI_HOCHBERG = "Benjamini-Hochberg (false discovery rate 5 %)"


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Which hypotheses Holm's step-down rejects: the k-th smallest p-value against alpha / (m - k), stopping at
    the first that fails."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - rank):
            break
        rejected[index] = True
    return rejected


def benjamini_hochberg(p_values: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Which hypotheses Benjamini–Hochberg rejects: every one up to the largest k with p_(k) <= k alpha / m."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    cutoff = 0
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= rank * alpha / len(p_values):
            cutoff = rank
    rejected = [False] * len(p_values)
    for index in order[:cutoff]:
        rejected[index] = True
    return rejected


def p_above(ratio: float, log_se: float, df: float, threshold: float) -> float:
    """One-sided p-value of "the true ratio is at most 1 + threshold" (the gate's null) for an estimated
    `ratio` whose log has standard error `log_se` on `df` degrees of freedom (inf: normal)."""
    from scipy.stats import norm, t

    if log_se <= 0:
        return 0.0 if ratio > 1 + threshold else 1.0
    statistic = (math.log(ratio) - math.log1p(threshold)) / log_se
    return float(norm.sf(statistic) if math.isinf(df) else t.sf(statistic, df))
