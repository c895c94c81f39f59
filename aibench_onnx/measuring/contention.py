"""What competed with a measurement: read around timing windows, so a contaminated process is named and re-measured.

Per window of sampling (about WINDOW_S; read between blocks, never inside a timed block) and for the CPUs
this process may run on: the CPU time other processes used (the CPUs' busy time in /proc/stat minus this
process's own), time the hypervisor stole, this process's involuntary context switches, runnable tasks
(`procs_running`) and CPU pressure (/proc/pressure/cpu: time some task waited for a CPU). Linux only; elsewhere
nothing is read and nothing is claimed.

A span (a cycle of slots, a measurement) is contaminated when other processes used at least
OTHER_SHARE_LIMIT of its CPUs while some task waited for a CPU (pressure at least PRESSURE_FLOOR: other
processes on idle capacity compete with nobody), or the hypervisor stole STEAL_LIMIT. The busy-time counters
tick at USER_HZ (10 ms): one 50-ms slot on 2 CPUs reads ±20 % — measured here, half the quiet slots of a
run read as "contaminated" and their re-measures were no faster — so short windows are only summed (without
clipping, so the noise averages out) and judged over a whole cycle or measurement.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass

import numpy as np

WINDOW_S = 0.1
OTHER_SHARE_LIMIT = 0.10  # other processes used >= 10 % of our CPUs
STEAL_LIMIT = 0.05
PRESSURE_FLOOR = 0.01  # some task waited for a CPU >= 1 % of the time
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Scheduler time slices a descheduled thread waits for: HZ=250 and HZ=100 kernels
QUANTA_S = (0.004, 0.010)


@dataclass(frozen=True)
class Reading:
    wall_s: float
    busy_s: float  # all processes' busy CPU time on our CPUs (user+nice+system+irq+softirq)
    steal_s: float
    own_cpu_s: float
    involuntary_switches: int
    pressure_us: int | None  # CPU pressure "some" total, if the kernel has PSI
    runnable: int | None


def _allowed_cpus() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:
        return None


def read(cpus: set[int] | None = None, ours: list[int] | None = None) -> Reading | None:
    """One reading of the counters, or None where /proc is not there. "Own" CPU time is this process's, or
    that of the processes `ours` (pids: a round's live timing processes and the parent)."""
    try:
        with open("/proc/stat") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    busy = steal = 0.0
    runnable = None
    for line in lines:
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *values = line.split()
            if cpus is not None and int(name[3:]) not in cpus:
                continue
            user, nice, system, _idle, _iowait, irq, softirq, stolen = (int(v) for v in values[:8])
            busy += user + nice + system + irq + softirq
            steal += stolen
        elif line.startswith("procs_running"):
            runnable = int(line.split()[1])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime if ours is None else sum(_process_cpu_s(pid) for pid in ours)
    return Reading(time.perf_counter(), busy / _TICKS_PER_S, steal / _TICKS_PER_S, own, usage.ru_nivcsw,
                   _pressure_us(), runnable)


def _process_cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime, stime
    except (OSError, IndexError, ValueError):  # the process ended
        return 0.0


class SpanMeter:
    """What processes other than `ours` did on `cpus` over a span of the parent's choosing (a cycle of slots):
    the live timing processes of a round take turns, so what each of them does between its own slots is not
    a neighbour's."""

    def __init__(self, cpus: set[int] | None, ours: list[int]):
        self.cpus, self.ours = cpus, ours
        self._start = read(cpus, ours)

    def stop(self) -> Window | None:
        end = read(self.cpus, self.ours)
        if self._start is None or end is None:
            return None
        return window_between(self._start, end, len(self.cpus or ()) or os.cpu_count() or 1, 0, 0)


def _pressure_us() -> int | None:
    try:
        with open("/proc/pressure/cpu") as handle:
            first = handle.readline()  # "some avg10=0.00 avg60=0.00 avg300=0.00 total=123"
        return int(first.rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Window:
    """What competed with samples[first:last] (last exclusive). The raw CPU-seconds are kept unclipped so that
    windows add up without bias: one window's tick-sampled reading is ±1 tick per CPU, noise that only a sum
    over many windows (a cycle, a measurement) averages away."""

    first: int
    last: int
    seconds: float
    capacity_s: float  # seconds x our CPUs
    other_cpu_s: float  # other processes' CPU time on our CPUs (tick-sampled, may read below 0)
    steal_cpu_s: float
    involuntary_switches: int
    pressure_s: float | None  # time some task waited for a CPU, if the kernel has PSI
    runnable: int | None  # tasks runnable at the window's end (ours included)

    @property
    def other_share(self) -> float:
        return min(max(self.other_cpu_s / self.capacity_s, 0.0), 1.0) if self.capacity_s > 0 else 0.0

    @property
    def steal_share(self) -> float:
        return min(max(self.steal_cpu_s / self.capacity_s, 0.0), 1.0) if self.capacity_s > 0 else 0.0

    @property
    def pressure_share(self) -> float | None:
        return None if self.pressure_s is None or self.seconds <= 0 else min(self.pressure_s / self.seconds, 1.0)

    @property
    def contaminated(self) -> bool:
        return competed(self.other_share, self.steal_share, self.pressure_share)


def competed(other_share: float, steal_share: float, pressure_share: float | None) -> bool:
    waited = pressure_share is None or pressure_share >= PRESSURE_FLOOR
    return (other_share >= OTHER_SHARE_LIMIT and waited) or steal_share >= STEAL_LIMIT


def window_between(start: Reading, end: Reading, cpus: int, first: int, last: int) -> Window:
    seconds = max(end.wall_s - start.wall_s, 1e-9)
    pressure = None
    if start.pressure_us is not None and end.pressure_us is not None:
        pressure = (end.pressure_us - start.pressure_us) / 1e6
    other = (end.busy_s - start.busy_s) - (end.own_cpu_s - start.own_cpu_s)
    return Window(first, last, seconds, seconds * max(cpus, 1), other, end.steal_s - start.steal_s,
                  end.involuntary_switches - start.involuntary_switches, pressure, end.runnable)


def combined(windows: list[Window]) -> Window:
    """Several windows read as one (their sums): a cycle's slots, a measurement's windows."""
    pressures = [w.pressure_s for w in windows]
    runnable = [w.runnable for w in windows if w.runnable is not None]
    return Window(windows[0].first if windows else 0, windows[-1].last if windows else 0,
                  sum(w.seconds for w in windows), sum(w.capacity_s for w in windows),
                  sum(w.other_cpu_s for w in windows), sum(w.steal_cpu_s for w in windows),
                  sum(w.involuntary_switches for w in windows),
                  None if not pressures or None in pressures else sum(pressures), max(runnable) if runnable else None)


class Monitor:
    """Reads the counters between blocks, at most once per WINDOW_S; `windows` says what competed with which samples."""

    def __init__(self, window_s: float = WINDOW_S):
        self.cpus = _allowed_cpus()
        self.window_s = window_s
        self.windows: list[Window] = []
        self._last = read(self.cpus)
        self._first_sample = 0

    @property
    def available(self) -> bool:
        return self._last is not None

    def after_block(self, samples_so_far: int, force: bool = False) -> None:
        if self._last is None or (not force and time.perf_counter() - self._last.wall_s < self.window_s):
            return
        now = read(self.cpus)
        if now is None:
            return
        self.windows.append(window_between(self._last, now, len(self.cpus or ()) or os.cpu_count() or 1,
                                           self._first_sample, samples_so_far))
        self._last, self._first_sample = now, samples_so_far

    def summary(self) -> Contention | None:
        return summarise(self.windows) if self.available else None


@dataclass
class Contention:
    """A measurement's contamination, over all its windows together (one short window's tick-sampled reading
    is too noisy to judge alone; the interleaved round judges whole cycles: timing/schedule.py)."""

    other_share: float
    steal_share: float
    involuntary_switches_per_s: float
    pressure_share: float | None
    max_runnable: int | None
    windows: int
    contaminated: bool
    cause: str  # "" when clean: "other processes used 38% of the CPUs", ...

    def to_dict(self) -> dict:
        return asdict(self)


def summarise(windows: list[Window]) -> Contention:
    whole = combined(windows)
    return Contention(round(whole.other_share, 4), round(whole.steal_share, 4),
                      round(whole.involuntary_switches / max(whole.seconds, 1e-9), 1),
                      None if whole.pressure_share is None else round(whole.pressure_share, 4), whole.runnable,
                      len(windows), whole.contaminated, describe_window(whole) if whole.contaminated else "")


def describe_window(window: Window) -> str:
    """What competed: "other processes used 38% of the CPUs, tasks waited for a CPU 41% of the time"."""
    parts = []
    if window.steal_share < STEAL_LIMIT or window.other_share >= OTHER_SHARE_LIMIT:
        parts.append(f"other processes used {100 * window.other_share:.0f}% of the CPUs")
    if window.steal_share >= STEAL_LIMIT:
        parts.append(f"the hypervisor stole {100 * window.steal_share:.0f}%")
    if window.pressure_share is not None:
        parts.append(f"tasks waited for a CPU {100 * window.pressure_share:.0f}% of the time")
    return ", ".join(parts)


def quantum_stalls(samples_s: list[float], block_size: int) -> str:
    """Blocks that took whole scheduler time slices longer than the fastest: one of our threads was
    descheduled and every other waited for it (seen: 0.02-ms calls measured at 7.99 and 15.99 ms). Returns a
    description, or "" when the pattern is not there."""
    if len(samples_s) < 5:
        return ""
    blocks = np.asarray(samples_s, float) * block_size
    fastest = float(blocks.min())
    for quantum in QUANTA_S:
        excess = blocks - fastest
        stalled = excess[excess >= 0.8 * quantum]
        if len(stalled) < 3 or len(stalled) < 0.05 * len(blocks):
            continue
        phase = np.abs(stalled / quantum - np.round(stalled / quantum))
        on_grid = int(np.sum(phase <= 0.1))
        # off-grid excesses land within ±0.1 of a multiple 20 % of the time: require well over that
        if on_grid >= 3 and on_grid >= 0.6 * len(stalled):
            return (f"scheduler stalls: {on_grid} of {len(blocks)} blocks took whole multiples of "
                    f"{1000 * quantum:g} ms longer (a thread waited a time slice for a CPU)")
    return ""


def machine_load(seconds: float = 0.3) -> Window | None:
    """Other processes' share of this process's CPUs over `seconds` of this process sleeping."""
    monitor = Monitor(window_s=0.0)
    if not monitor.available:
        return None
    time.sleep(seconds)
    monitor.after_block(0, force=True)
    return monitor.windows[-1]


def threads_advice(threads: int, load: Window | None, cpus: int | None = None) -> str:
    """When every CPU has a timing thread and the machine is not idle, a descheduled thread stalls each
    call for a time slice: say so and what to do."""
    cpus = cpus or len(_allowed_cpus() or ()) or os.cpu_count() or 1
    if load is None or threads < cpus or load.other_share < OTHER_SHARE_LIMIT / 2:
        return ""
    return busy_machine_advice(threads, cpus, f"other processes use {100 * load.other_share:.0f}% of them")


def busy_machine_advice(threads: int, cpus: int, evidence: str) -> str:
    fewer = f" (e.g. --threads {cpus - 1})" if cpus > 1 else ""
    return (f"{threads} timing threads on {cpus} CPUs while {evidence}: a thread descheduled for a time slice "
            f"stalls every call; use fewer threads than CPUs{fewer} or a quieter machine")


def wait_for_quiet(max_s: float) -> None:
    """Sleep until other processes leave this process's CPUs (at most `max_s`)."""
    waited = 0.0
    while waited < max_s:
        load = machine_load(0.1)
        waited += 0.1
        if load is None or load.other_share < OTHER_SHARE_LIMIT / 2:
            return
