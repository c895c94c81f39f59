"""The two sides of an effect timed again, side by side, on the very calls the timing measures (each graph
runtime's timed call: ONNX Runtime with IO binding, OpenVINO with its inputs set once), in alternating turns
so drift and a neighbour's bursts fall on both alike — with the one loop (measuring.loop: arm, then
`alternate`), as a timing process pairs the two sides of a graph effect. What an explanation's difference is
taken on."""

from __future__ import annotations

import random

import numpy as np

from aibench_onnx.measuring.loop import TimingConfig, alternate, arm
from aibench_onnx.prepared import GraphCall, Prepared
from aibench_onnx.profiles import WARMUP_RUNS

# long turns: a thread pool spins a while after its last call and would compete with the other side's calls
TURN_S = 0.2
MIN_TIME_S = 1.6


def timed_call(kind: str, path: str, ep: str, level: str | None, threads: int,
               feed: dict[str, np.ndarray]) -> Prepared:
    """The graph runtime `kind`'s timed call of `path`, as a timing process prepares it."""
    from aibench_onnx.runtimes import timed_call as prepare

    return prepare(kind)(GraphCall(path, ep, level, threads), feed)


def side_by_side(calls: list[Prepared], min_time_s: float = MIN_TIME_S, turn_s: float = TURN_S) -> list[float]:
    """The median call (µs, synced) of each prepared call: each armed by the loop (first call, warm-up, block
    size), then sampled in alternating turns until each has `min_time_s` of blocks. A call that raises raises."""
    config = TimingConfig(warmup_calls=WARMUP_RUNS, turn_s=turn_s)
    armed = {index: arm(call.run, call.sync, config) for index, call in enumerate(calls)}
    slots, failed = alternate(armed, min_time_s, 0, random.Random(0))
    for exc in failed.values():
        raise exc
    return [slots[index][0].median_s * 1e6 for index in range(len(calls))]
