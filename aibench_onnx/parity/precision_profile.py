"""Where a reduced-precision graph's error enters: its intermediate tensors against the fp32 graph's, by name.

The fp16 converter and ONNX Runtime's quantizer keep the names of the tensors they convert (they add Cast,
QuantizeLinear and DequantizeLinear nodes with new names), so the fp32 export and its variant share most
tensor names. We expose them in chunks of `per_step` extra outputs per run (never all at once: big graphs
run out of memory) and compare each pair: the first tensor that turns non-finite where fp32 is finite (an
fp16 overflow), the first whose SQNR falls below the precision's floor, and the worst few — the idea of
onnxruntime.quantization.qdq_loss_debug, over any variant.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from aibench_onnx.parity.engine import sqnr_db
from aibench_onnx.parity.localize import (
    Runner,
    _path_from_inputs,
    _tensor_types,
    candidate_tensors,
    node_label,
    with_outputs,
)


def error_profile(reference_model, variant_model, feed: dict[str, np.ndarray], run_reference: Runner, run_variant: Runner,
                  min_sqnr_db: float | None, per_step: int = 32, worst: int = 5) -> dict:
    """{"first_nonfinite", "first_below", "worst": [...], "compared", "runs", "max_extra_outputs"}; each entry
    names the node, its op type, the tensor, SQNR in dB, max abs error and the path from the inputs."""
    entries, runs, shared = tensor_errors(reference_model, variant_model, feed, run_reference, run_variant, per_step)
    first_nonfinite = next((e for e in entries if e["new_nonfinite"]), None)
    first_below = next((e for e in entries if min_sqnr_db is not None and e["sqnr_db"] is not None
                        and e["sqnr_db"] < min_sqnr_db), None)
    ranked = sorted((e for e in entries if e["sqnr_db"] is not None), key=lambda e: e["sqnr_db"])[:worst]
    for found in (first_nonfinite, first_below):
        if found is not None:
            _to_origin(variant_model, found)
            found["path"] = _path_from_inputs(variant_model, found["order"])
    return {"first_nonfinite": first_nonfinite, "first_below": first_below, "worst": ranked,
            "compared": len(entries), "runs": runs, "max_extra_outputs": min(per_step, len(shared))}


def tensor_errors(reference_model, variant_model, feed: dict[str, np.ndarray], run_reference: Runner, run_variant: Runner,
                  per_step: int = 32) -> tuple[list[dict], int, list]:
    """Every tensor the two graphs share, compared (SQNR, max abs error, new non-finite values), in the
    variant's topological order; with the number of runs and the shared (node index, tensor) pairs."""
    variant_types, reference_types = _tensor_types(variant_model), _tensor_types(reference_model)
    shared = [c for c in candidate_tensors(variant_model, variant_types) if c[1] in reference_types]
    shared += [(index, output) for index, node in enumerate(variant_model.graph.node) for output in node.output
               if output in {o.name for o in variant_model.graph.output} and output in reference_types]
    entries, runs = [], 0
    with tempfile.TemporaryDirectory(prefix="aibench-precision-") as tmp:
        for start in range(0, len(shared), per_step):
            chunk = shared[start:start + per_step]
            names = [name for _, name in chunk]
            reference = run_reference(with_outputs(reference_model, reference_types, names, Path(tmp), f"r{start}"),
                                      feed, names)
            variant = run_variant(with_outputs(variant_model, variant_types, names, Path(tmp), f"v{start}"),
                                  feed, names)
            runs += 2
            for index, name in chunk:
                entries.append(_entry(variant_model, index, name, np.asarray(reference[name], np.float64),
                                      np.asarray(variant[name], np.float64)))
    entries.sort(key=lambda e: e["order"])
    return entries, runs, shared


def _to_origin(model, found: dict) -> None:
    """A tensor the converter renamed reaches the shared name through its Cast (MatMul -> `x_cast_to_y` ->
    Cast -> `y`): name the node that computed it, not the Cast that carried it."""
    producer = {output: index for index, node in enumerate(model.graph.node) for output in node.output}
    index = found["order"]
    while model.graph.node[index].op_type == "Cast" and model.graph.node[index].input[0] in producer:
        index = producer[model.graph.node[index].input[0]]
    if index != found["order"]:
        node = model.graph.node[index]
        found.update(order=index, node=node_label(node, index), op_type=node.op_type,
                     carried_by=found["node"])


def _entry(model, index: int, tensor: str, reference: np.ndarray, variant: np.ndarray) -> dict:
    node = model.graph.node[index]
    same_shape = reference.shape == variant.shape
    finite = np.isfinite(reference) & np.isfinite(variant) if same_shape else np.zeros(0, bool)
    new_nonfinite = int((np.isfinite(reference) & ~np.isfinite(variant)).sum()) if same_shape else 0
    return {"order": index, "node": node_label(node, index), "op_type": node.op_type, "tensor": tensor,
            "new_nonfinite": new_nonfinite,
            "sqnr_db": sqnr_db(reference[finite], variant[finite]) if same_shape and finite.any() else None,
            "max_abs": float(np.abs(reference[finite] - variant[finite]).max()) if same_shape and finite.any() else None}
