"""The one measurement loop. Every runtime — torch, TF, JAX, ONNX Runtime, or any callable — is timed here.

Method (design §5): the first call is timed on its own (a cold cost); warm-up runs at least `warmup_calls`
calls and `warmup_s` seconds and until the two halves of its last window agree; calls are grouped in blocks
so that timer and sync overhead stay under `max_overhead` of a block; sampling needs both `min_time_s` and
`min_samples`, then stops when the 95 % CI of the median is within ±`target_ci` or at `max_time_s`.
Every call is followed by `sync()` (GPU runtimes wait for the device), so a sample is a latency.

The first call, warm-up and calibration make an `Armed` callable. `measure` samples it at once; an
interleaved round (timing/schedule.py) samples it in short slots between other configurations' slots
(`Armed.sample_slot`), so that drift and neighbours' bursts hit both sides of an effect alike.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from aibench_onnx.measuring.contention import Monitor, Window, quantum_stalls, summarise
from aibench_onnx.measuring.stats import (
    P90_MIN_SAMPLES,
    P99_MIN_SAMPLES,
    bootstrap_median_ci,
    median_ci_order_statistics,
)
from aibench_onnx.prepared import Prepared, no_sync  # noqa: F401 - the loop's input, defined below every runtime

NOISY_IQR_FRACTION = 0.10
# Blocks are sized for twice the overhead bound: calls often run faster after calibration (frequency
# boost, warmer caches), and a block sized exactly at the bound would then exceed it (seen in CI: 1.3x).
CALIBRATION_MARGIN = 2.0
# the second clock (Armed.take_block): a block whose process CPU time / wall time falls under this share of the
# median block's was preempted; more than MAX_PREEMPTED_FRACTION of a slot's blocks under it is the
# configuration's nature (an oversubscribed pool, a device wait), not preemption, and they all stay
PREEMPTED_SHARE = 0.75
MAX_PREEMPTED_FRACTION = 0.10


@dataclass
class TimingConfig:
    min_time_s: float = 1.0
    max_time_s: float = 10.0
    min_samples: int = 20
    warmup_calls: int = 10
    warmup_s: float = 0.5
    warmup_max_s: float = 5.0
    warmup_window: int = 20  # calls whose two halves must agree
    warmup_tolerance: float = 0.05  # halves' medians within 5 %
    target_ci: float = 0.01  # stop when the 95 % CI of the median is within ±1 %
    max_overhead: float = 0.001  # timer + sync overhead <= 0.1 % of a block
    max_block_s: float = 0.05  # a block never exceeds this, so slow calls still give many samples
    # interleaved rounds (timing/schedule.py): each configuration is sampled for min_time_s in slots of
    # `slot_s`, alternating with the other configurations of its model
    slot_s: float = 0.1
    rewarm_s: float = 0.02  # unrecorded calls at the start of every slot
    # side by side (measuring.loop.alternate): each turn of a callable is `switch_warm_s` of unrecorded calls (at
    # least one), then blocks for `turn_s` (at least one)
    switch_warm_s: float = 0.001
    turn_s: float = 0.005

    @property
    def cycles(self) -> int:
        """Slots per configuration and batch in an interleaved round: min_time_s of sampling, at least 3."""
        return max(3, round(self.min_time_s / self.slot_s))


@dataclass
class Measurement:
    """Raw per-call samples (seconds; the mean call time of each block) and what they mean."""

    samples_s: list[float]
    block_size: int
    first_call_s: float
    warmup_calls: int
    warmup_s: float
    warmup_settled: bool
    overhead_s: float  # timer + sync cost of one call, measured
    calibration_calls: int  # calls spent choosing the block size
    total_s: float
    stopped_by: str  # "ci" | "time_cap" | "slots"
    config: dict = field(default_factory=dict)
    contention: dict | None = None  # measuring.contention.Contention over the sampling; None where unreadable
    slots: list[dict] = field(default_factory=list)  # interleaved: per slot its cycle, median and sample range
    cpu_share: float | None = None  # the median block's process CPU time / wall time (the second clock)
    preempted_blocks: int = 0  # blocks left out for a CPU share under PREEMPTED_SHARE of the median
    share_varies_slots: int = 0  # slots where too many blocks fell under it to call them preempted

    @property
    def n(self) -> int:
        return len(self.samples_s)

    @property
    def total_calls(self) -> int:
        """Every call made, first and warm-up and calibration included (energy is divided by this)."""
        return 1 + self.warmup_calls + self.calibration_calls + self.n * self.block_size

    def _array(self) -> np.ndarray:
        return np.asarray(self.samples_s, dtype=float)

    @property
    def median(self) -> float:
        return float(np.median(self._array()))

    def within_slot_iqr(self) -> float:
        """Median over slots of IQR / median inside one slot: the noise of one stretch of calls, without the
        differences between slots (drift, bursts) that the paired slot ratios cancel."""
        values = self._array()
        found = []
        for slot in self.slots:
            inside = values[slot["first"]:slot["last"]]
            if len(inside) >= 4 and np.median(inside) > 0:
                q1, q3 = np.percentile(inside, [25, 75])
                found.append((q3 - q1) / np.median(inside))
        return float(np.median(found)) if found else 0.0

    @property
    def overhead_fraction(self) -> float:
        """Timer + sync cost as a fraction of the median block, as achieved (not as planned)."""
        block_s = self.median * self.block_size
        return self.overhead_s / block_s if block_s > 0 else float("inf")

    def summary(self) -> dict:
        """Statistics and reliability flags, computed from the samples."""
        values = self._array()
        median = float(np.median(values))
        q1, q3 = np.percentile(values, [25, 75])
        ci = bootstrap_median_ci(values) if self.n >= 5 else (float("nan"), float("nan"))
        flags = []
        iqr = float(q3 - q1)
        noise = self.within_slot_iqr() if self.slots else iqr / median if median > 0 else 0.0
        if noise >= NOISY_IQR_FRACTION:
            flags.append(f"noisy: IQR is {100 * noise:.0f}% of the median"
                         + (" inside a slot (median over slots)" if self.slots else ""))
        if not self.warmup_settled:
            flags.append("warm-up never settled")
        if self.stopped_by == "time_cap":
            flags.append(f"time cap reached before the median's CI was within ±{100 * self.config.get('target_ci', 0.01):g}%")
        max_overhead = self.config.get("max_overhead", 0.001)
        block_capped = self.median * self.block_size >= 0.5 * self.config.get("max_block_s", 0.05)
        if self.overhead_fraction > max_overhead and not block_capped:
            # informational: at these sizes the overhead is far below the ±1 % CI target
            flags.append(f"timer overhead {100 * self.overhead_fraction:.2g}% of a block "
                         f"(> {100 * max_overhead:g}%): calls sped up after calibration")
        if self.preempted_blocks:
            flags.append(f"preempted: {self.preempted_blocks} blocks got under {100 * PREEMPTED_SHARE:.0f}% of the "
                         f"median CPU share (their wall time was not this process's work): left out, re-measured")
        if self.share_varies_slots:
            flags.append(f"CPU share varies by nature in {self.share_varies_slots} slots (over "
                         f"{100 * MAX_PREEMPTED_FRACTION:.0f}% of blocks under the median's share): all blocks kept")
        if self.contention and self.contention["contaminated"]:
            flags.append(f"contaminated: {self.contention['cause']}")
        stalls = quantum_stalls(self.samples_s, self.block_size)
        if stalls:
            flags.append(stalls)
        if self.n < P99_MIN_SAMPLES:
            flags.append(f"p99 not reported: {self.n} samples < {P99_MIN_SAMPLES}")
        return {
            "median_s": median,
            "mean_s": float(values.mean()),
            "min_s": float(values.min()),
            "p90_s": float(np.percentile(values, 90)) if self.n >= P90_MIN_SAMPLES else None,
            "p99_s": float(np.percentile(values, 99)) if self.n >= P99_MIN_SAMPLES else None,
            "iqr_s": iqr,
            "cv": float(values.std(ddof=1) / values.mean()) if self.n > 1 and values.mean() > 0 else None,
            "ci95_s": [ci[0], ci[1]],
            "n": self.n,
            "block_size": self.block_size,
            "first_call_s": self.first_call_s,
            "overhead_fraction": self.overhead_fraction,
            "reliable": not any(f.startswith(("noisy", "warm-up", "time cap", "contaminated", "scheduler stalls"))
                                for f in flags),
            "flags": flags,
        }

    def to_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary()}


def measure_overhead(sync: Callable[[], Any], repeats: int = 200) -> float:
    """Median cost of one timer read pair plus one sync, in seconds."""
    costs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        sync()
        costs.append(time.perf_counter_ns() - start)
    return float(np.median(costs)) / 1e9


def _warm_up(run, sync, config: TimingConfig) -> tuple[list[float], bool, float]:
    times: list[float] = []
    started = time.perf_counter()
    settled = False
    while True:
        t0 = time.perf_counter_ns()
        run()
        sync()
        times.append((time.perf_counter_ns() - t0) / 1e9)
        elapsed = time.perf_counter() - started
        if len(times) >= config.warmup_calls and elapsed >= config.warmup_s:
            window = times[-config.warmup_window:]
            if len(window) >= 4:
                half = len(window) // 2
                first, second = np.median(window[:half]), np.median(window[half:])
                settled = bool(abs(first - second) <= config.warmup_tolerance * min(first, second))
            if settled or elapsed >= config.warmup_max_s:
                return times, settled, elapsed


def _time_block(run, sync, calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        run()
        sync()
    return (time.perf_counter_ns() - t0) / 1e9


def _calibrate_block(run, sync, overhead: float, config: TimingConfig) -> tuple[int, int]:
    """Double the calls per block until one block's time makes the timer+sync overhead at most
    `max_overhead` of it (or reaches `max_block_s`). Timing whole blocks, not single calls, keeps the
    timer's own cost out of the per-call estimate. The target carries CALIBRATION_MARGIN. Returns (calls per block, calls spent calibrating)."""
    needed = CALIBRATION_MARGIN * overhead / config.max_overhead
    calls, spent = 1, 0
    while True:
        elapsed = _time_block(run, sync, calls)
        spent += calls
        if elapsed >= config.max_block_s:
            return calls, spent
        if elapsed >= needed:
            # a preemption only adds time, so the fastest of three timings is the block's own cost;
            # sizing from one preempted timing gave blocks too small for the bound
            elapsed = min(elapsed, *(_time_block(run, sync, calls) for _ in range(2)))
            spent += 2 * calls
            if elapsed >= needed:
                return calls, spent
        # jump close to the target when far from it; at least double
        calls = max(calls * 2, min(calls * 64, math.ceil(calls * needed / max(elapsed, 1e-9))))


@dataclass
class _Taken:
    """A slot's blocks so far: each one's mean seconds per call and its CPU share (see Armed.take_block)."""

    samples: list[float] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    kept_s: float = 0.0  # wall seconds of the blocks not (provisionally) preempted


@dataclass
class Slot:
    """One slot's samples (interleaved rounds)."""

    samples_s: list[float]

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples_s))


@dataclass
class Armed:
    """A callable after its first call, warm-up and block calibration: ready to be sampled — at once
    (`measure`) or cycle by cycle in slots (`sample_slot`, interleaved rounds)."""

    run: Callable[[], Any]
    sync: Callable[[], Any]
    config: TimingConfig
    first_call_s: float
    warmup_calls: int
    warmup_s: float
    settled: bool
    overhead: float
    block: int
    calibration_calls: int
    samples: list[float] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    cycles: dict[int, Slot] = field(default_factory=dict)  # interleaved: a redone cycle replaces its slot
    sampling_s: float = 0.0
    sampled_calls: int = 0  # in slots, replaced ones included (energy is divided by this)
    shares: list[float] = field(default_factory=list)  # every block's CPU time / wall time
    share_reference: float | None = None  # their median, once there are enough
    preempted_blocks: int = 0
    share_varies_slots: int = 0

    def sample_slot(self, seconds: float, cycle: int) -> tuple[Slot, Slot | None]:
        """Calls for `rewarm_s`, unrecorded, then blocks until the kept ones (not preempted) fill `seconds` (at
        least one; at most twice `seconds` in all): (the slot, the slot of the same cycle it replaces, if the
        cycle was redone). Why the re-warm: after the idle gap between two slots the first ~20 ms of calls ran
        1.25-1.5x slower here (measured: the CPU ramping back up), a ramp that would otherwise be part of every
        slot."""
        self.rewarm()
        taken = _Taken()
        started = time.perf_counter()
        while not taken.samples or (taken.kept_s < seconds and time.perf_counter() - started < 2 * seconds):
            self.take_block(taken)
        return self.keep_slot(cycle, taken, time.perf_counter() - started)

    def rewarm(self) -> None:
        """Unrecorded calls for `rewarm_s` (see sample_slot)."""
        self.unrecorded(self.config.rewarm_s)

    def unrecorded(self, seconds: float) -> float:
        """Calls, not recorded, until `seconds` have passed (at least one); the seconds they took."""
        started = time.perf_counter()
        while True:
            self.run()
            self.sync()
            self.sampled_calls += 1
            spent = time.perf_counter() - started
            if spent >= seconds:
                return spent

    def turn(self, taken: _Taken) -> None:
        """One turn side by side (see `alternate`): unrecorded calls for `switch_warm_s` (at least one), then
        blocks into `taken` until its kept ones grew by `turn_s` or three times the warm-up, whichever is longer
        (at least one block; at most twice that)."""
        warm_s = self.unrecorded(self.config.switch_warm_s)
        # calls far longer than the warm-up target: time 3x the warm-up, so it costs a quarter of the turn
        turn_s = max(self.config.turn_s, 3 * warm_s)
        started, kept_before = time.perf_counter(), taken.kept_s
        while True:
            self.take_block(taken)
            if taken.kept_s - kept_before >= turn_s or time.perf_counter() - started >= 2 * turn_s:
                return

    def take_block(self, taken: _Taken) -> None:
        """One block of calls on both clocks into `taken`: its mean wall seconds per call and its share, the
        process's CPU time over its wall time. A share under PREEMPTED_SHARE of the median block's means the
        wall clock counted time this process was not running (Google Benchmark reports both clocks for this
        reason); such a block does not count towards the slot's time (it is re-measured) and keep_slot leaves
        it out."""
        cpu_0, wall_0 = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(self.block):
            self.run()
            self.sync()
        wall_1, cpu_1 = time.perf_counter_ns(), time.process_time_ns()
        wall = (wall_1 - wall_0) / 1e9
        share = (cpu_1 - cpu_0) / max(wall_1 - wall_0, 1)
        self.shares.append(share)
        if len(self.shares) in (8, 32) or len(self.shares) % 256 == 0:  # a provisional reference, refreshed
            self.share_reference = float(np.median(self.shares[-1024:]))
        taken.samples.append(wall / self.block)
        taken.shares.append(share)
        if self.share_reference is None or share >= PREEMPTED_SHARE * self.share_reference:
            taken.kept_s += wall

    def keep_slot(self, cycle: int, taken: _Taken, sampling_s: float) -> tuple[Slot, Slot | None]:
        """The slot's blocks (means per call) as this cycle's slot, the preempted ones left out against the
        median share of every block so far: (the slot, the one of the same cycle it replaces). When over
        MAX_PREEMPTED_FRACTION of the slot's blocks fall under it, a share that low that often is how this
        configuration runs, not a preemption, and all stay."""
        self.share_reference = float(np.median(self.shares[-1024:]))
        floor = PREEMPTED_SHARE * self.share_reference
        kept = [wall for wall, share in zip(taken.samples, taken.shares) if share >= floor]
        preempted = len(taken.samples) - len(kept)
        if not kept or preempted > MAX_PREEMPTED_FRACTION * len(taken.samples):
            kept = taken.samples
            self.share_varies_slots += preempted > 0
        else:
            self.preempted_blocks += preempted
        self.sampling_s += sampling_s
        self.sampled_calls += len(taken.samples) * self.block
        slot = Slot(kept)
        replaced = self.cycles.get(cycle)
        self.cycles[cycle] = slot
        return slot, replaced

    def measurement(self, stopped_by: str, contention: dict | None = None) -> Measurement:
        """The measurement so far. Interleaved: the kept slot of each cycle, in cycle order, and the contention
        the parent judged over the cycles (`contention`, measuring.contention.Contention as a dict)."""
        slots = []
        if self.cycles:
            self.samples = []
            for cycle, slot in sorted(self.cycles.items()):
                first = len(self.samples)
                self.samples.extend(slot.samples_s)
                slots.append({"cycle": cycle, "median_s": slot.median_s, "first": first, "last": len(self.samples)})
        elif self.windows:
            contention = summarise(self.windows).to_dict()
        return Measurement(list(self.samples), self.block, self.first_call_s, self.warmup_calls, self.warmup_s,
                           self.settled, self.overhead, self.calibration_calls, self.sampling_s, stopped_by,
                           asdict(self.config), contention, slots,
                           float(np.median(self.shares)) if self.shares else None, self.preempted_blocks,
                           self.share_varies_slots)


def alternate(armed: dict[str, Armed], seconds: float, cycle: int, rng) -> tuple[dict, dict[str, Exception]]:
    """Side by side in one process: every callable re-warmed, then turns of each in turn — each pass in an
    order `rng` shuffles — until every one has sampled `seconds` (at least one turn): the two sides of an
    effect then run in the same stretch of a noisy machine, turn by turn, where separate slots would see
    different stretches. A turn is `switch_warm_s` of unrecorded calls, then timed blocks for `turn_s`. Why
    unrecorded calls after each switch: the first calls after another session ran refill the caches with this
    session's weights — measured on a 0.15-ms MatMul chain, three sessions of one file, blocks of 1, 3 and 2
    calls timed right after the switch came out 1.35-1.52x apart; with 2-3 unrecorded calls first, within
    1-3 %. Returns (key -> (the cycle's slot, the slot it replaces)), and the exception of each callable that
    raised (it leaves the alternation; the others go on)."""
    failed: dict[str, Exception] = {}
    for key, one in armed.items():
        try:
            one.rewarm()
        except Exception as exc:  # noqa: BLE001 - one configuration's failure is its result
            failed[key] = exc
    keys = [key for key in armed if key not in failed]
    taken = {key: _Taken() for key in keys}
    while keys and any(taken[key].kept_s < seconds for key in keys):
        rng.shuffle(keys)
        for key in list(keys):
            try:
                armed[key].turn(taken[key])
            except Exception as exc:  # noqa: BLE001
                failed[key] = exc
                keys.remove(key)
    return {key: armed[key].keep_slot(cycle, taken[key], sum(taken[key].samples) * armed[key].block)
            for key in keys}, failed


def arm(run: Callable[[], Any], sync: Callable[[], Any] | None = None, config: TimingConfig | None = None) -> Armed:
    """The first call (timed apart: a cold cost), warm-up and the block size."""
    config = config or TimingConfig()
    sync = sync or no_sync
    t0 = time.perf_counter_ns()
    run()
    sync()
    first_call_s = (time.perf_counter_ns() - t0) / 1e9
    warmup_times, settled, warmup_s = _warm_up(run, sync, config)
    overhead = measure_overhead(sync)
    block, calibration_calls = _calibrate_block(run, sync, overhead, config)
    return Armed(run, sync, config, first_call_s, len(warmup_times), warmup_s, settled, overhead, block,
                 calibration_calls)


def measure(run: Callable[[], Any], sync: Callable[[], Any] | None = None,
            config: TimingConfig | None = None) -> Measurement:
    """Time `run` (followed by `sync` after every call) with the loop described in the module docstring."""
    armed = arm(run, sync, config)
    config, sync, block = armed.config, armed.sync, armed.block
    samples = armed.samples
    monitor = Monitor()  # reads what competed between blocks, never inside one
    started = time.perf_counter()
    stopped_by = "time_cap"
    perf = time.perf_counter_ns
    while True:
        t0 = perf()
        for _ in range(block):
            run()
            sync()
        samples.append((perf() - t0) / 1e9 / block)
        monitor.after_block(len(samples))
        elapsed = time.perf_counter() - started
        if elapsed >= config.max_time_s:
            break
        if elapsed >= config.min_time_s and len(samples) >= config.min_samples and len(samples) % 10 == 0:
            ordered = np.sort(samples)
            low, high = median_ci_order_statistics(ordered)
            median = float(np.median(ordered))
            if median > 0 and max(median - low, high - median) <= config.target_ci * median:
                stopped_by = "ci"
                break
    armed.sampling_s = time.perf_counter() - started
    monitor.after_block(len(samples), force=True)
    armed.windows = monitor.windows
    return armed.measurement(stopped_by)
