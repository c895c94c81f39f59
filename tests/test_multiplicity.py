"""Properties of the statistics on simulated machines (no timing): side-by-side pairing, and gates and verdicts that
control their family of comparisons."""

from __future__ import annotations

import math

import numpy as np

from aibench_onnx.timing.effects import Effect, control_discoveries
from aibench_onnx.timing.multiplicity import benjamini_hochberg, holm, p_above
from aibench_onnx.timing.processes import compare_interleaved, compare_replicates

ROUNDS, CYCLES = 3, 10


def simulated_slots(rng, true_ratio: float, side_by_side: bool) -> tuple[dict, dict]:
    """Slot medians of two configurations over ROUNDS processes x CYCLES cycles on a noisy machine: each process
    has its own speed (a 20 % spread, as on a shared 2-vCPU VM), each stretch of the machine its own (15 %), and
    each slot its own noise (3 %). Side by side, both configurations run in one process and one stretch; apart, in
    two processes (each its own speed) and in slots of different stretches."""
    baseline, candidate = {}, {}
    for round_index in range(ROUNDS):
        process = rng.normal(0, 0.20, 2)
        if side_by_side:
            process[1] = process[0]
        baseline[round_index], candidate[round_index] = {}, {}
        for cycle in range(CYCLES):
            stretch = rng.normal(0, 0.15, 2)
            if side_by_side:
                stretch[1] = stretch[0]
            slot = rng.normal(0, 0.03, 2)
            baseline[round_index][cycle] = 0.01 * math.exp(process[0] + stretch[0] + slot[0])
            candidate[round_index][cycle] = 0.01 * true_ratio * math.exp(process[1] + stretch[1] + slot[1])
    return baseline, candidate


def test_side_by_side_pairing_narrows_the_ci_and_still_covers_the_true_ratio():
    rng = np.random.default_rng(7)
    widths = {True: [], False: []}
    covered = {True: 0, False: 0}
    trials = 200
    for _ in range(trials):
        for side_by_side in (True, False):
            found = compare_interleaved(*simulated_slots(rng, 1.10, side_by_side))
            widths[side_by_side].append(math.log(found.ci_high / found.ci_low))
            covered[side_by_side] += found.ci_low <= 1.10 <= found.ci_high
    # what a neighbour's phase and a process's speed do to both sides alike cancels in their ratio
    assert np.median(widths[True]) < 0.2 * np.median(widths[False]), (np.median(widths[True]), np.median(widths[False]))
    assert 0.90 <= covered[True] / trials <= 0.99, covered  # about its nominal 95 %
    assert covered[False] / trials >= 0.90, covered


def simulated_runs(rng, configurations: int, spread: float, planted: dict[int, float], processes: int = 3) -> list:
    """compare's estimates for `configurations` measured in two runs of `processes` processes each (process
    medians with a `spread` log-normal sd between processes); `planted`: configuration -> its true slowdown."""
    estimates = []
    for index in range(configurations):
        base = {r: [math.exp(rng.normal(0, spread))] * 5 for r in range(processes)}
        slowdown = planted.get(index, 1.0)
        new = {r: [slowdown * math.exp(rng.normal(0, spread))] * 5 for r in range(processes)}
        estimates.append(compare_replicates(base, new, paired=False))
    return estimates


def gate_fails(estimates, threshold: float = 0.05) -> list[bool]:
    return holm([p_above(e.ratio, *e.standard_error(), threshold) for e in estimates])


def test_the_gate_passes_a_a_families_of_200_configurations_and_fails_a_planted_20_percent_slowdown():
    rng = np.random.default_rng(11)
    families = 40
    # A/A: identical code measured twice, every configuration's ratio 1 (a 2 % spread between processes)
    red = sum(any(gate_fails(simulated_runs(rng, 200, 0.02, {}))) for _ in range(families))
    assert red <= 0.05 * families, red
    # without the correction, most A/A families would fail somewhere: the CI of one alone above +5 %
    uncorrected = sum(any(e.ci_low > 1.05 for e in simulated_runs(rng, 200, 0.05, {})) for _ in range(10))
    assert uncorrected > red, (uncorrected, red)
    # one configuration planted 20 % slower (5 processes a side, a 1 % spread): the gate fails on it, only on it
    caught = 0
    for _ in range(10):
        failed = gate_fails(simulated_runs(rng, 200, 0.01, {17: 1.20}, processes=5))
        caught += failed[17]
        assert sum(failed) == failed[17], [i for i, f in enumerate(failed) if f]
    assert caught >= 9, caught


def test_holm_and_benjamini_hochberg_reject_as_their_step_rules_say():
    p = [0.001, 0.04, 0.012, 0.3, 0.0125]
    # Holm: 0.001 <= 0.05/5, 0.012 <= 0.05/4, 0.0125 <= 0.05/3, then 0.04 > 0.05/2 stops
    assert holm(p) == [True, False, True, False, True]
    # BH: the largest k with p_(k) <= k 0.05 / 5 is k = 4 (0.04 <= 0.04)
    assert benjamini_hochberg(p) == [True, True, True, False, True]
    assert holm([]) == benjamini_hochberg([]) == []


def test_effects_reported_together_keep_only_their_discoveries():
    def effect(p_value: float, verdict: str) -> Effect:
        return Effect(1, "exporter", "a", "b", 1.02, 1.001, 1.04, p_value, verdict)

    effects = [effect(0.04, "1.02x slower")] + [effect(0.5, "no significant difference")] * 9 + [
        effect(1e-6, "3.00x slower")]
    control_discoveries(effects)
    assert effects[0].verdict == "no significant difference"  # significant alone, not among 11
    assert effects[-1].verdict == "3.00x slower" and all(e.family == 11 for e in effects)


def test_alternation_samples_every_callable_in_one_stretch_and_lets_a_failing_one_go():
    import random

    from aibench_onnx.measuring.loop import TimingConfig, alternate, arm

    config = TimingConfig(warmup_calls=2, warmup_s=0.0, warmup_max_s=0.05, rewarm_s=0.001, max_block_s=0.001)
    broken = {"now": False}

    def breaks():
        if broken["now"]:
            raise RuntimeError("kernel failed")

    armed = {"a": arm(lambda: sum(range(200)), config=config), "b": arm(breaks, config=config)}
    slots, failed = alternate(armed, 0.02, 0, random.Random(0))
    assert set(slots) == {"a", "b"} and not failed and all(slot.samples_s for slot, _ in slots.values())
    broken["now"] = True
    slots, failed = alternate(armed, 0.02, 0, random.Random(0))
    assert set(slots) == {"a"} and str(failed["b"]) == "kernel failed"
    assert slots["a"][1] is not None  # the redone cycle replaced the first one's slot
