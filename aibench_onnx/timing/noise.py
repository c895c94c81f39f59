"""How noisy is this machine? An A/A analysis: one configuration measured in N fresh processes, then split
many times into two disjoint groups of R processes, each pair compared as `aibench compare` would compare
two runs. The share of splits called a difference is the false-positive rate at R; the minimum detectable
effect at R is what a regression gate can resolve here."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from aibench_onnx.timing.processes import across_processes, compare_replicates


@dataclass
class NoiseReport:
    processes: int
    repeats: int
    splits: int
    process_medians_s: list[float]
    between_cv: float  # standard deviation of log process medians (~ relative spread between processes)
    within_iqr: float  # median IQR / median inside one process
    false_positive_rate: float  # at `repeats` processes a side, counting processes
    false_positive_rate_one_process: float  # the same splits with one process a side (within-process CIs)
    mde: float  # median minimum detectable effect at `repeats` processes a side
    mde_by_repeats: dict[int, float]  # R -> median MDE, for choosing R
    suggested_gate: str  # e.g. median:7% — the smallest gate this machine resolves at R

    def to_dict(self) -> dict:
        return asdict(self)


def _splits(count: int, repeats: int, trials: int, rng: np.random.Generator) -> list[tuple[list[int], list[int]]]:
    chosen = []
    for _ in range(trials):
        order = rng.permutation(count)
        chosen.append((list(order[:repeats]), list(order[repeats:2 * repeats])))
    return chosen


def analyse(replicates: dict[int, list[float]], repeats: int, trials: int = 400, seed: int = 0) -> NoiseReport:
    """`replicates`: process -> samples of one configuration. Needs at least 2 x `repeats` processes."""
    processes = sorted(replicates)
    if len(processes) < 2 * repeats:
        raise ValueError(f"{len(processes)} processes cannot be split into two groups of {repeats}")
    rng = np.random.default_rng(seed)

    def side(indices) -> dict[int, list[float]]:
        return {i: replicates[processes[i]] for i in indices}

    def rate_and_mde(r: int, count: int) -> tuple[float, list[float]]:
        flagged, mdes = 0, []
        for a, b in _splits(len(processes), r, count, rng):
            found = compare_replicates(side(a), side(b), paired=False)
            flagged += found.significant
            if found.mde is not None:
                mdes.append(found.mde)
        return flagged / count, mdes

    rate, mdes = rate_and_mde(repeats, trials)
    rate_one, _ = rate_and_mde(1, min(trials, 100))  # within-process CIs: slow bootstrap, fewer splits suffice
    by_repeats = {r: float(np.median(rate_and_mde(r, 100)[1])) for r in range(2, len(processes) // 2 + 1)}
    summary = across_processes(replicates)
    mde = float(np.median(mdes))
    return NoiseReport(len(processes), repeats, trials, summary.process_medians_s,
                       float(np.std(np.log(summary.process_medians_s), ddof=1)), summary.within_iqr, rate, rate_one,
                       mde, by_repeats, f"median:{math.ceil(100 * mde)}%")
