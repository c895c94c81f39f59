"""When the only reference is onnx's reference evaluator and ONNX Runtime disagrees with it, either may be
wrong (the evaluator is, for example, on an opset-9 Softmax over a 4-D tensor, where ORT follows the spec).
A third executor decides where the evidence points: ORT CPU with optimizations off, which shares neither
the evaluator's code nor the failing cell's provider kernels or graph rewrites."""

from __future__ import annotations

import numpy as np

from aibench_onnx.parity.engine import compare_outputs, merge

THIRD = "ONNX Runtime CPU, optimizations off"


def _agree(expected: list[dict[str, np.ndarray]], actual: list[dict[str, np.ndarray]]) -> bool:
    return all(row.passed for row in merge([compare_outputs(e, a) for e, a in zip(expected, actual)]))


def adjudicate(ep: str, level: str, reference: list[dict], target: list[dict], third: list[dict] | None,
               runtime: str = "ONNX Runtime", third_name: str = THIRD) -> dict:
    """`reference`: the evaluator's outputs; `target`: the failing cell's (`runtime` on `ep` at `level`);
    `third`: ORT CPU at level disabled, or another runtime (`third_name`: OpenVINO) when that is the failing cell
    itself (None: nothing independent of both is at hand)."""
    THIRD = third_name  # noqa: N806 - the name the verdicts below say
    if third is None:
        return {"third": None, "points_at": None,
                "verdict": "no third executor independent of both here: the evaluator or ONNX Runtime CPU may be wrong"}
    with_target, with_reference = _agree(third, target), _agree(third, reference)
    if with_target and not with_reference:
        cell = f"{ep}/{level}" if runtime == "ONNX Runtime" else f"{runtime} {ep}"
        points_at, verdict = "reference", (f"{THIRD} agrees with {cell}, not with onnx's reference evaluator: "
                                           "the evidence points at the reference evaluator")
    elif with_reference and not with_target:
        points_at = runtime.lower().replace(" ", "")  # onnxruntime, openvino
        verdict = f"{THIRD} agrees with onnx's reference evaluator: the evidence points at {runtime} {ep}/{level}"
    else:
        points_at, verdict = None, f"{THIRD} agrees with {'both' if with_target else 'neither'}: no side is singled out"
    return {"third": THIRD, "points_at": points_at, "verdict": verdict}
