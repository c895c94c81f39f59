"""Per-node time from ONNX Runtime's own profiler, in a pass of its own: never in the timed measurement.

One session without profiling measures the run time the node times are set against (and writes the graph as
the optimizer left it, for the fusion ledger); a second session with profiling runs warm-up calls first and
only the calls after them are read (ORT's trace marks each run as a `model_run` event; node events fall inside
one). Each node's time is its median over those runs; a node that runs several times in one run (inside a
loop body) counts the sum of that run. Nodes inside a control-flow node's subgraph are kept but marked
`nested`: their time is already part of the Loop/Scan/If node's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from aibench_onnx.profiles import PROFILED_RUNS, WARMUP_RUNS, GraphProfile, NodeTime


def profile_graph(path: str, ep: str, opt_level: str, threads: int, feed: dict[str, np.ndarray],
                  workdir: str | Path | None = None, runs: int = PROFILED_RUNS,
                  warmup: int = WARMUP_RUNS) -> GraphProfile:
    """Profile `path` on `ep` at `opt_level`: each node's median time, and the graph as the optimizer left it.
    Its `latency_us` is the profiled run's until the caller sets the unprofiled one, measured on the timed call
    side by side with the other side of the effect (explain/latency.py)."""
    from aibench_onnx.ort.session import create_session, feed_for

    workdir = Path(workdir or tempfile.mkdtemp(prefix="aibench-profile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    optimized: str | None = str(workdir / f"optimized-{ep}-{opt_level}.onnx")
    prefix = str(workdir / "profile")
    try:
        profiled, _ = create_session(path, ep, opt_level, threads, profile_prefix=prefix, optimized_path=optimized)
    except RuntimeError:  # a provider that compiles nodes (TensorRT) cannot write its graph: profile without
        profiled, _ = create_session(path, ep, opt_level, threads, profile_prefix=prefix)
        optimized = None
    arrays = feed_for(profiled, feed)[0]
    for _ in range(warmup + runs):
        profiled.run(None, arrays)
    trace = json.loads(Path(profiled.end_profiling()).read_text())
    nested = _subgraph_node_names(optimized) if optimized and Path(optimized).exists() else set()
    nodes, run_us = parse_trace(trace, warmup, nested)
    return GraphProfile(str(path), ep, opt_level, threads, runs, run_us, run_us, nodes,
                        optimized if optimized and Path(optimized).exists() else None)


def _subgraph_node_names(optimized_path: str) -> set[str]:
    """Names of the nodes inside control-flow subgraphs (Loop, Scan, If bodies), at any depth."""
    import onnx

    found: set[str] = set()

    def walk(graph, top: bool) -> None:
        for node in graph.node:
            if not top:
                found.add(node.name)
            for attribute in node.attribute:
                for body in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                    walk(body, False)

    walk(onnx.load(optimized_path, load_external_data=False).graph, True)
    return found


def parse_trace(trace: list[dict], warmup: int, nested: set[str] = frozenset()) -> tuple[list[NodeTime], float]:
    """(nodes, median profiled run µs) from ORT's trace: node kernel times of the runs after `warmup`; `nested`:
    the names of nodes inside subgraphs."""
    runs = sorted((event for event in trace if event.get("cat") == "Session" and event.get("name") == "model_run"),
                  key=lambda event: event["ts"])[warmup:]
    if not runs:
        return [], float("nan")
    starts = [run["ts"] for run in runs]
    per_run: dict[str, list[float]] = {}
    first_event: dict[str, dict] = {}
    for event in trace:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
            continue
        index = int(np.searchsorted(starts, event["ts"], side="right")) - 1
        if index < 0 or event["ts"] > runs[index]["ts"] + runs[index]["dur"]:
            continue  # a warm-up run's
        name = event["name"].removesuffix("_kernel_time")
        per_run.setdefault(name, [0.0] * len(runs))[index] += event["dur"]
        first_event.setdefault(name, event)
    nodes = []
    for name, durations in per_run.items():
        args = first_event[name].get("args", {})
        nodes.append(NodeTime(name, args.get("op_name", "?"), args.get("provider", "?"),
                              float(np.median(durations)), _shapes(args.get("input_type_shape")),
                              _shapes(args.get("output_type_shape")), _types(args.get("input_type_shape")),
                              nested=name in nested))
    return nodes, float(np.median([run["dur"] for run in runs]))


def _shapes(entries) -> list[list[int]]:
    return [list(next(iter(entry.values()))) for entry in entries or [] if entry]


def _types(entries) -> list[str]:
    return [next(iter(entry)) for entry in entries or [] if entry]
