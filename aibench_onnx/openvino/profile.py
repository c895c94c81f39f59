"""OpenVINO's per-layer counters (PERF_COUNT) as a profile explain/ reads like ONNX Runtime's: each executed
layer's median real time over the profiled runs, after warm-up, beside the unprofiled latency. Layers are
OpenVINO's own after its transformations (FullyConnected, MVN, Subgraph: a fused elementwise kernel), named after
the ONNX node they came from where one did."""

from __future__ import annotations

import statistics
import time

import numpy as np

from aibench_onnx.openvino.runner import compile_for, feed_for
from aibench_onnx.profiles import PROFILED_RUNS, WARMUP_RUNS, GraphProfile, NodeTime


def profile_openvino(path: str, ep: str, threads: int, feed: dict[str, np.ndarray], runs: int = PROFILED_RUNS,
                     warmup: int = WARMUP_RUNS) -> GraphProfile:
    """Each executed layer's median time. Its `latency_us` is the profiled run's until the caller sets the
    unprofiled one, measured on the timed call (explain/latency.py)."""
    compiled, _ = compile_for(path, ep, threads, feed, profiling=True)
    request = compiled.create_infer_request()
    arrays, _ = feed_for(compiled, feed)
    for _ in range(warmup):
        request.infer(arrays)
    per_layer: dict[str, list[float]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    run_times = []
    for _ in range(runs):
        started = time.perf_counter()
        request.infer(arrays)
        run_times.append(time.perf_counter() - started)
        for layer in request.profiling_info:
            if layer.status.name == "EXECUTED":
                per_layer.setdefault(layer.node_name, []).append(layer.real_time.total_seconds() * 1e6)
                kinds[layer.node_name] = (layer.node_type, layer.exec_type)
    nodes = [NodeTime(name, kinds[name][0], kinds[name][1], float(np.median(times + [0.0] * (runs - len(times)))))
             for name, times in per_layer.items()]
    run_us = statistics.median(run_times) * 1e6
    return GraphProfile(str(path), ep, "default", threads, runs, run_us, run_us, nodes)

