"""Input sets for parity: seeded random draws at the export batch, plus edge cases.

Edge cases catch what random draws at one batch size miss: a batch dimension frozen at export (batch 1
and a batch size other than the one exported with), degenerate values (zeros), and overflow or saturation
(large magnitudes). Token ids and padding masks keep valid values in every case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aibench_onnx.zoo.spec import ModelSpec

EXPORT_BATCH = 2  # export and seeded draws use batch 2: >= 2, so no exporter can specialise batch 1
OTHER_BATCH = 5


@dataclass
class InputCase:
    """One input set. atol_scale > 1 where inputs were scaled up: float32 accumulation error grows with
    the magnitude of the data, so an absolute tolerance must grow with it (and the result says so)."""

    name: str
    arrays: dict[str, np.ndarray]
    atol_scale: float = 1.0


def _is_value_input(generator: str) -> bool:
    """Inputs whose values may be zeroed or scaled (not token ids or masks)."""
    return generator in ("normal", "uniform")


def parity_cases(spec: ModelSpec, size: str, seeds: int, edge_cases: bool = True) -> list[InputCase]:
    cases = [InputCase(f"seed{seed}", spec.make_inputs(size, EXPORT_BATCH, seed)) for seed in range(seeds)]
    if not edge_cases:
        return cases
    cases.append(InputCase("batch1", spec.make_inputs(size, 1, seed=1000)))
    cases.append(InputCase(f"batch{OTHER_BATCH}", spec.make_inputs(size, OTHER_BATCH, seed=1001)))
    zeros = spec.make_inputs(size, EXPORT_BATCH, seed=1002)
    large = spec.make_inputs(size, EXPORT_BATCH, seed=1003)
    for tensor in spec.inputs:
        if _is_value_input(tensor.generator):
            zeros[tensor.name] = np.zeros_like(zeros[tensor.name])
            large[tensor.name] = (large[tensor.name] * tensor.large_scale).astype(tensor.dtype)
        elif tensor.generator == "token_ids":
            zeros[tensor.name] = np.zeros_like(zeros[tensor.name])
    cases.append(InputCase("zeros", zeros))
    scales = [t.large_scale for t in spec.inputs if _is_value_input(t.generator)]
    cases.append(InputCase("large", large, atol_scale=max(scales, default=1.0)))
    return cases
