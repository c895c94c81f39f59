"""How often `aibench compare --fail-on median:5%` passes identical code, and how often it catches a planted
slowdown, on this machine's real noise: the processes of two or more saved A/A runs (the same checkout, the
same conditions) are pooled per configuration and dealt at random into a "base" and a "new" side of the
runs' own size, many times; each deal goes through the gate exactly as `compare` runs it (Welch over process
medians, one-sided p of "at most +5 %", Holm over every configuration). Under A/A the processes are
exchangeable, so every deal is an A/A pair this machine could have produced.

    python benchmarks/gate_resampling.py RUN_A RUN_B [RUN_C ...] --draws 1000 --plant 1.2

Prints the share of A/A deals the gate passes (target: >= 95 %) and, with --plant, the share of deals in
which one configuration, chosen at random and made that much slower on the new side, fails it.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from aibench_onnx.runs.compare import gate_decision, load_side
from aibench_onnx.timing.processes import compare_replicates


def pooled_processes(run_dirs: list[str]) -> dict[tuple, list[list[float]]]:
    """(model, configuration, batch) -> every process's samples over the runs, for configurations in all."""
    sides = [load_side(run_dir).samples for run_dir in run_dirs]
    common = set.intersection(*(set(side) for side in sides))
    return {key: [samples for side in sides for samples in side[key].values()] for key in sorted(common)}


def gate_fails(pooled: dict[tuple, list[list[float]]], per_side: int, rng: random.Random, gate: float,
               planted: tuple | None = None, factor: float = 1.0) -> bool:
    """One random deal of each configuration's processes into two sides; does the gate fail it?"""
    estimates = []
    for key, processes in pooled.items():
        dealt = rng.sample(processes, 2 * per_side)
        base = dict(enumerate(dealt[:per_side]))
        scale = factor if key == planted else 1.0
        new = {index: [s * scale for s in samples] for index, samples in enumerate(dealt[per_side:])}
        estimates.append(compare_replicates(base, new, paired=False))
    return any(gate_decision(estimates, gate)[1])


def typical_mde(processes: list[list[float]], per_side: int, rng: random.Random, deals: int = 20) -> float | None:
    """A configuration's median detectable change over A/A deals of its pooled processes (its resolution)."""
    found = []
    for _ in range(deals):
        dealt = rng.sample(processes, 2 * per_side)
        comparison = compare_replicates(dict(enumerate(dealt[:per_side])), dict(enumerate(dealt[per_side:])),
                                        paired=False)
        if comparison.mde is not None:
            found.append(comparison.mde)
    return float(np.median(found)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="two or more A/A run directories")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--gate", type=float, default=0.05, help="the gate's threshold (median:5%% is 0.05)")
    parser.add_argument("--plant", type=float, default=1.2, help="slowdown planted in one configuration (0: none)")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("give at least two A/A runs")
    pooled = pooled_processes(args.runs)
    sizes = [len(processes) for processes in pooled.values()]
    per_side = min(sizes) // 2
    rng = random.Random(args.seed)
    print(f"{len(pooled)} configurations, {per_side} processes a side (pooled: median {np.median(sizes):.0f})")
    passed = sum(not gate_fails(pooled, per_side, rng, args.gate) for _ in range(args.draws))
    print(f"A/A: the gate passes {passed} of {args.draws} deals ({100 * passed / args.draws:.1f} %)")
    if args.plant:
        keys = list(pooled)
        resolution = {key: typical_mde(pooled[key], per_side, rng) for key in keys}
        outcomes = []
        for _ in range(args.draws):
            planted = rng.choice(keys)
            outcomes.append((planted, gate_fails(pooled, per_side, rng, args.gate, planted, args.plant)))
        caught = sum(failed for _, failed in outcomes)
        print(f"planted {args.plant:g}x in one configuration: the gate fails {caught} of {args.draws} deals "
              f"({100 * caught / args.draws:.1f} %)")
        # a gate cannot see an effect smaller than what the planted configuration's noise lets it resolve
        for label, inside in (("resolved to ±10 %", lambda m: m is not None and m <= 0.10),
                              ("not resolved to ±10 %", lambda m: m is None or m > 0.10)):
            chosen = [failed for key, failed in outcomes if inside(resolution[key])]
            count = sum(1 for m in resolution.values() if inside(m))
            if chosen:
                print(f"  planted in a configuration {label} ({count} of {len(keys)}): caught in {sum(chosen)} of "
                      f"{len(chosen)} ({100 * sum(chosen) / len(chosen):.1f} %)")


if __name__ == "__main__":
    main()
