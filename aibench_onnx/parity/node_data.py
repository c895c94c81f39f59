"""The parity error each node's output carries, as a Model Explorer node-data file's values
(graph/node_data.py writes them)."""

from __future__ import annotations

from aibench_onnx.parity.localize import Runner
from aibench_onnx.parity.repro.reduce import Feed


def error_per_node(model, feed: Feed, run_reference: Runner, run_target: Runner,
                   per_step: int = 32) -> dict[str, float]:
    """Each float tensor's max |target - reference| on `feed`, by name (the tensors every node outputs, in
    chunks of `per_step` extra outputs per run: never all at once)."""
    from aibench_onnx.parity.precision_profile import tensor_errors

    entries, _, _ = tensor_errors(model, model, feed, run_reference, run_target, per_step)
    return {entry["tensor"]: entry["max_abs"] for entry in entries if entry["max_abs"] is not None}
