"""Statistics that count processes: a configuration is measured in R independent processes (replicates), and
every headline number, CI and ratio is computed from the process medians, not from the samples of one
process.

Why not the samples themselves: on a shared machine the noise that matters is *between* processes (thread
placement, frequency, memory layout, neighbours); samples inside one process are tightly correlated, so a
CI built from them is far too narrow and two identical runs "differ significantly". Why not a bootstrap
over processes: with the 3 to 5 processes we can afford, a bootstrap over processes has only a handful of
distinct resamples and covers well below its nominal rate. Instead (the summary-statistics method for
nested designs): each process contributes one number, the log of its median — which already carries that
process's own sampling error — and intervals come from Student's t on those R numbers. Ratios are
differences of mean log medians: paired by round when both configurations ran in the same rounds (drift
over time then cancels), Welch otherwise (two runs). The minimum detectable effect (MDE) is the ratio
the design would detect with 80 % power at 5 % significance; a ratio inside it, or a CI that includes 1,
is "no significant difference". With a single process nothing between processes can be estimated: the
within-process bootstrap is used and the result says so.

Interleaved slots (timing/schedule.py) sharpen each round's ratio: inside a round the two configurations were
sampled alternately, so each cycle gives a paired ratio of slot medians that drift and a neighbour's burst
hit alike. A round's ratio is the *median* over its cycles — a slowdown episode that begins or ends inside
a cycle spoils that cycle's ratio only (on this project's 2-core VM such episodes made the mean of cycle
ratios swing by 25 % where the median stayed within 0.5 %) — and rounds are then combined as above, with
Student's t over the R round ratios, so a process slow for its whole life still counts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from aibench_onnx.measuring.stats import bootstrap_median_ci, compare_samples

CONFIDENCE = 0.95
POWER = 0.80
PRACTICAL_FLOOR = 0.01  # below 1 % no ratio is called a difference, whatever the statistics say
ONE_PROCESS = "within one process (between-process variance not counted: use --repeats 2 or more)"

Replicates = Mapping[int, Sequence[float]]  # round -> per-call samples of the process that ran in that round
Slots = Mapping[int, Mapping[int, float]]  # round -> cycle -> the slot's median (interleaved rounds)
INTERLEAVED = "interleaved slots: median paired ratio per round, t over rounds"
INTERLEAVED_ONE_ROUND = "interleaved slots within one round (between-process variance not counted: use --repeats 2 or more)"
MIN_CYCLES = 3


def _log_medians(replicates: Replicates) -> dict[int, float]:
    return {r: math.log(float(np.median(samples))) for r, samples in replicates.items() if len(samples)}


def _t(q: float, df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


@dataclass
class AcrossProcesses:
    """One configuration at one batch size over its processes."""

    median_s: float  # geometric mean of the process medians (the median itself with one process)
    ci95_s: list[float]
    processes: int
    process_medians_s: list[float]
    between_spread: float  # (max - min) / median over process medians: how much processes disagree
    within_iqr: float  # median over processes of IQR / median: the noise inside one process
    method: str  # "t over process medians" or ONE_PROCESS
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def across_processes(replicates: Replicates) -> AcrossProcesses:
    rounds = sorted(r for r in replicates if len(replicates[r]))
    medians = [float(np.median(replicates[r])) for r in rounds]
    iqrs = [float(np.subtract(*np.percentile(replicates[r], [75, 25]))) / m for r, m in zip(rounds, medians)]
    within = float(np.median(iqrs)) if iqrs else float("nan")
    if len(rounds) == 1:
        samples = np.asarray(replicates[rounds[0]], float)
        low, high = bootstrap_median_ci(samples) if len(samples) >= 5 else (float("nan"), float("nan"))
        return AcrossProcesses(medians[0], [low, high], 1, medians, 0.0, within, ONE_PROCESS, [ONE_PROCESS])
    logs = np.log(medians)
    centre, half = float(logs.mean()), _t(0.5 + CONFIDENCE / 2, len(logs) - 1) * float(logs.std(ddof=1)) / math.sqrt(len(logs))
    spread = (max(medians) - min(medians)) / float(np.median(medians))
    flags = []
    if spread > within:
        flags.append(f"processes disagree: their medians spread {100 * spread:.1f}% (within one process: IQR "
                     f"{100 * within:.1f}%)")
    return AcrossProcesses(math.exp(centre), [math.exp(centre - half), math.exp(centre + half)], len(logs), medians,
                           spread, within, "t over process medians", flags)


@dataclass
class Comparison:
    """candidate / baseline, > 1 slower."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    mde: float | None  # smallest relative difference detectable (80 % power, 5 % two-sided); None: not estimable
    processes: list[int]  # [baseline, candidate]
    method: str  # "paired by round", "Welch over process medians", or ONE_PROCESS
    significant: bool
    log_se: float | None = None  # standard error of log(ratio) (t methods); None: read from the CI
    df: float | None = None  # its degrees of freedom

    def standard_error(self) -> tuple[float, float]:
        """(standard error of log ratio, degrees of freedom): the t method's own, else the CI's half width over
        the normal quantile (within one process: order statistics or a bootstrap)."""
        if self.log_se is not None and self.df is not None:
            return self.log_se, self.df
        if not (self.ci_low > 0 and self.ci_high > 0):
            return float("inf"), float("inf")
        return (math.log(self.ci_high) - math.log(self.ci_low)) / (2 * 1.959964), float("inf")

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "no significant difference"
        return f"{self.ratio:.2f}x slower" if self.ratio >= 1 else f"{1 / self.ratio:.2f}x faster"

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def compare_replicates(baseline: Replicates, candidate: Replicates, paired: bool = True) -> Comparison:
    """How much slower (ratio > 1) or faster the candidate is, counting processes. `paired`: the two ran in
    the same rounds of one run (effects); False for two separate runs (compare)."""
    a, b = _log_medians(baseline), _log_medians(candidate)
    if len(a) < 2 or len(b) < 2:
        pooled = [np.concatenate([np.asarray(s, float) for s in side.values()]) for side in (baseline, candidate)]
        within = compare_samples(pooled[0], pooled[1])
        return Comparison(within.ratio, within.ci_low, within.ci_high, within.p_value, None, [len(a), len(b)],
                          ONE_PROCESS, within.significant)
    common = sorted(set(a) & set(b))
    if paired and len(common) >= 2 and len(common) == len(a) == len(b):
        differences = np.array([b[r] - a[r] for r in common])
        estimate, df = float(differences.mean()), len(differences) - 1
        error = float(differences.std(ddof=1)) / math.sqrt(len(differences))
        method = "paired by round"
    else:
        la, lb = np.array(list(a.values())), np.array(list(b.values()))
        va, vb = la.var(ddof=1) / len(la), lb.var(ddof=1) / len(lb)
        estimate, error = float(lb.mean() - la.mean()), math.sqrt(va + vb)
        # Welch–Satterthwaite degrees of freedom (the smaller side's when both variances vanish)
        df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1)) if va + vb > 0 else min(len(la), len(lb)) - 1
        method = "Welch over process medians"
    return _t_comparison(estimate, max(error, 1e-12), df, [len(a), len(b)], method)


def round_ratios(baseline: Slots, candidate: Slots) -> dict[int, float]:
    """round -> log of the median paired ratio candidate/baseline over the cycles both were sampled in."""
    found = {}
    for round_index in sorted(set(baseline) & set(candidate)):
        cycles = sorted(set(baseline[round_index]) & set(candidate[round_index]))
        if len(cycles) >= MIN_CYCLES:
            found[round_index] = float(np.median([math.log(candidate[round_index][c] / baseline[round_index][c])
                                                  for c in cycles]))
    return found


def compare_interleaved(baseline: Slots, candidate: Slots) -> Comparison | None:
    """candidate / baseline from paired slots (None when fewer than MIN_CYCLES paired cycles in every round)."""
    logs = round_ratios(baseline, candidate)
    if not logs:
        return None
    if len(logs) == 1:
        return _one_round(baseline, candidate, next(iter(logs)))
    values = np.array(list(logs.values()))
    estimate, df = float(values.mean()), len(values) - 1
    error = max(float(values.std(ddof=1)) / math.sqrt(len(values)), 1e-12)
    return _t_comparison(estimate, error, df, [len(values), len(values)], INTERLEAVED)


def _t_comparison(estimate: float, error: float, df: float, processes: list[int], method: str) -> Comparison:
    from scipy.stats import t

    t_alpha = _t(0.5 + CONFIDENCE / 2, df)
    half = t_alpha * error
    p_value = float(2 * t.sf(abs(estimate) / error, df))
    mde = math.exp((t_alpha + _t(POWER, df)) * error) - 1
    floor = math.log1p(max(mde, PRACTICAL_FLOOR))
    significant = abs(estimate) > half and abs(estimate) > floor
    return Comparison(math.exp(estimate), math.exp(estimate - half), math.exp(estimate + half), p_value, mde,
                      processes, method, significant, error, df)


def _one_round(baseline: Slots, candidate: Slots, round_index: int) -> Comparison:
    """One round: the median cycle ratio with its distribution-free CI (order statistics) and a sign test;
    nothing between processes is counted, and the method says so."""
    from scipy.stats import binomtest

    from aibench_onnx.measuring.stats import median_ci_order_statistics

    cycles = sorted(set(baseline[round_index]) & set(candidate[round_index]))
    logs = np.sort([math.log(candidate[round_index][c] / baseline[round_index][c]) for c in cycles])
    estimate = float(np.median(logs))
    low, high = median_ci_order_statistics(logs)
    p_value = float(binomtest(int(np.sum(logs > 0)), int(np.sum(logs != 0)) or 1).pvalue)
    significant = (low > 0 or high < 0) and abs(estimate) > math.log1p(PRACTICAL_FLOOR)
    return Comparison(math.exp(estimate), math.exp(low), math.exp(high), p_value, None, [1, 1],
                      INTERLEAVED_ONE_ROUND, significant)
