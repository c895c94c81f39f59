"""The two sides of an effect timed again, side by side, on the very calls the timing measures (each graph
runtime's timed call: ONNX Runtime with IO binding, OpenVINO with its inputs set once), in alternating blocks
so drift and a neighbour's bursts fall on both alike. What an explanation's difference is taken on."""

from __future__ import annotations

import statistics
import time

import numpy as np

from aibench_onnx.prepared import GraphCall, Prepared
from aibench_onnx.profiles import WARMUP_RUNS

BLOCK_S = 0.2  # long blocks: a thread pool spins a while after its last call and would compete with the other's
MIN_TIME_S = 1.6


def timed_call(kind: str, path: str, ep: str, level: str | None, threads: int,
               feed: dict[str, np.ndarray]) -> Prepared:
    """The graph runtime `kind`'s timed call of `path`, as a timing process prepares it."""
    from aibench_onnx.runtimes import timed_call as prepare

    return prepare(kind)(GraphCall(path, ep, level, threads), feed)


def side_by_side(calls: list[Prepared], min_time_s: float = MIN_TIME_S, block_s: float = BLOCK_S,
                 warmup: int = WARMUP_RUNS) -> list[float]:
    """The median call (µs, synced) of each prepared call, measured in alternating blocks."""
    for call in calls:
        for _ in range(warmup):
            call.run()
            call.sync()
    samples: list[list[float]] = [[] for _ in calls]
    deadline = time.perf_counter() + min_time_s
    while time.perf_counter() < deadline or min(len(found) for found in samples) < 30:
        for found, call in zip(samples, calls):
            block_end = time.perf_counter() + block_s
            call.run()  # the first call after the other side's block: not kept
            call.sync()
            while time.perf_counter() < block_end:
                started = time.perf_counter()
                call.run()
                call.sync()
                found.append(time.perf_counter() - started)
    return [statistics.median(found) * 1e6 for found in samples]
