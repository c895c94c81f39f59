"""TF32's effect on ONNX Runtime CUDA errors.

For every graph a parity run exported (its --json file), run the graph on the CUDA provider with
`use_tf32` off and on, and compare with ORT CPU at level `disabled` on the same inputs (batch 8, seed 0).
TF32 rounds matmul/conv inputs to 10 mantissa bits on Ampere and newer GPUs: the errors show what that costs.

    python benchmarks/gpu_tf32.py PARITY.json
"""

from __future__ import annotations

import json
import sys

import numpy as np

from aibench_onnx.ort.session import create_session, feed_for
from aibench_onnx.zoo.registry import get_spec


def max_abs_error(outputs: list[np.ndarray], reference: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(out.astype(np.float64) - ref))) for out, ref in zip(outputs, reference)
               if np.issubdtype(ref.dtype, np.floating) and ref.size)


def main(parity_json: str) -> int:
    document = json.loads(open(parity_json, encoding="utf-8").read())
    print("| model | graph from | output max abs | CUDA tf32 off | CUDA tf32 on | on / off |")
    print("|---|---|---|---|---|---|")
    for result in document["results"]:
        export = result.get("export") or {}
        if export.get("status") != "ok":
            continue
        inputs = get_spec(result["model"]).make_inputs(result["size"], 8, seed=0)
        try:
            cpu, _ = create_session(export["path"], "cpu", "disabled", 4)
        except RuntimeError as exc:  # e.g. jax2onnx's contradictory value_info (see the parity table)
            print(f"| {result['model']} | {result['framework']} | ORT cannot load the graph: {exc} | | | |")
            continue
        feed, _ = feed_for(cpu, inputs)
        reference = cpu.run(None, feed)
        errors = {}
        for tf32 in ("0", "1"):
            session, info = create_session(export["path"], "cuda", "all", 4, {"use_tf32": tf32})
            assert session.get_provider_options()["CUDAExecutionProvider"]["use_tf32"] == tf32
            errors[tf32] = max_abs_error(session.run(None, feed), reference)
        scale = max(float(np.max(np.abs(r))) for r in reference if np.issubdtype(r.dtype, np.floating))
        ratio = errors["1"] / errors["0"] if errors["0"] else float("inf")
        print(f"| {result['model']} | {result['framework']} | {scale:.3g} | {errors['0']:.3g} | {errors['1']:.3g} "
              f"| {ratio:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
