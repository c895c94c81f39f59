"""What is inside an exported ONNX graph: size, operators, validity, and nodes that often mean trouble."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16 (onnx.TensorProto values)
INT64 = 7


def _dims(value_info) -> list:
    shape = value_info.type.tensor_type.shape
    return [d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else "?") for d in shape.dim]


def _elem_type_name(value_info) -> str:
    import onnx

    return onnx.helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type).name


def describe_io(model) -> dict:
    initializers = {init.name for init in model.graph.initializer}
    return {
        "inputs": [{"name": v.name, "dtype": _elem_type_name(v), "shape": _dims(v)}
                   for v in model.graph.input if v.name not in initializers],
        "outputs": [{"name": v.name, "dtype": _elem_type_name(v), "shape": _dims(v)} for v in model.graph.output],
    }


def _suspicious_nodes(model, inferred, batch_dynamic_expected: bool) -> list[str]:
    """Structural red flags: training-mode nodes, int64 casts on float paths, a frozen batch dimension."""
    findings = []
    types = {v.name: v.type.tensor_type.elem_type for v in
             list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    types.update({init.name: init.data_type for init in inferred.graph.initializer})
    for node in inferred.graph.node:
        attributes = {a.name: a for a in node.attribute}
        label = f"{node.op_type} node {node.name or node.output[0]!r}"
        if node.op_type == "Dropout":
            findings.append(f"{label}: Dropout left in the inference graph")
        if node.op_type == "BatchNormalization":
            if "training_mode" in attributes and attributes["training_mode"].i == 1:
                findings.append(f"{label}: BatchNormalization in training mode (batch statistics)")
            elif len([o for o in node.output if o]) > 1:
                findings.append(f"{label}: BatchNormalization with running-statistics outputs (training mode)")
        if node.op_type == "Cast" and "to" in attributes and attributes["to"].i == INT64:
            if types.get(node.input[0]) in FLOAT_TYPES:
                findings.append(f"{label}: Cast of a float tensor to int64 (truncates values on a float path)")
    if batch_dynamic_expected:
        for kind, values in (("input", inferred.graph.input), ("output", inferred.graph.output)):
            initializers = {init.name for init in inferred.graph.initializer}
            for value in values:
                if value.name in initializers:
                    continue
                dims = _dims(value)
                if dims and isinstance(dims[0], int):
                    findings.append(f"graph {kind} {value.name!r}: batch dimension fixed to {dims[0]} "
                                    "(exported as a constant, not symbolic)")
    return findings


def inspect_onnx(path: str | Path, batch_dynamic_expected: bool = True) -> dict:
    """A record of the graph at `path`: counts, operator histogram, parameter bytes, checker and shape
    inference results, structural findings. Never raises for a broken graph: the record says why."""
    import onnx

    path = Path(path)
    record: dict = {"path": str(path), "file_bytes": path.stat().st_size}
    model = onnx.load(str(path))
    record["ir_version"] = model.ir_version
    record["opsets"] = {imp.domain or "ai.onnx": imp.version for imp in model.opset_import}
    record["producer"] = f"{model.producer_name} {model.producer_version}".strip()
    record["node_count"] = len(model.graph.node)
    record["op_histogram"] = dict(Counter(node.op_type for node in model.graph.node).most_common())
    record["functions"] = len(model.functions)
    record["initializers"] = len(model.graph.initializer)
    record["param_bytes"] = int(sum(onnx.numpy_helper.to_array(init).nbytes for init in model.graph.initializer))
    record["param_count"] = int(sum(np.prod(init.dims, dtype=np.int64) for init in model.graph.initializer))
    record.update(describe_io(model))
    try:
        onnx.checker.check_model(str(path), full_check=True)
        record["checker"] = "ok"
    except Exception as exc:  # noqa: BLE001 - onnx raises ValidationError and others
        record["checker"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:400]}"
    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        record["shape_inference"] = "ok"
    except Exception as exc:  # noqa: BLE001
        record["shape_inference"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:400]}"
        try:  # lenient inference still types most tensors, which the structural scan needs
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001
            inferred = model
    record["suspicious"] = _suspicious_nodes(model, inferred, batch_dynamic_expected)
    return record
