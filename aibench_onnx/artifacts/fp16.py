"""An fp32 ONNX graph converted to fp16 (or bf16) after export (onnxconverter-common's float16 conversion): weights and
activations in half precision, graph inputs and outputs kept fp32 (so feeds and comparisons stay as they
were), operators on the converter's block list left in fp32 behind Cast nodes. The record says what was
converted, what stayed fp32, which weights were clamped into fp16's range and the size on disk."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from aibench_onnx.graph.load import model_bytes


def convert_to_fp16(source: str | Path, target: str | Path, exclude: tuple[str, ...] = ()) -> dict:
    """`exclude`: names of nodes kept in fp32 (a precision repair)."""
    return _convert(source, target, "fp16", exclude)


def convert_to_bf16(source: str | Path, target: str | Path, exclude: tuple[str, ...] = ()) -> dict:
    """The fp16 conversion's graph (the same nodes kept fp32 behind Casts), retyped to bfloat16 with the weights
    taken from the fp32 graph (bf16 has fp32's range: nothing is clamped). ONNX Runtime runs it only where a
    provider has bf16 kernels (its CPU provider has none for MatMul, Add, ...: the CUDA provider does)."""
    return _convert(source, target, "bf16", exclude)


def _convert(source: str | Path, target: str | Path, precision: str, exclude: tuple[str, ...] = ()) -> dict:
    import onnx
    from onnx import TensorProto, numpy_helper
    from onnxconverter_common import float16

    from aibench_onnx.graph.edit import inline_local_functions

    model = onnx.load(str(source))
    functions = len(model.functions)
    model = inline_local_functions(model)
    clamped = _weights_outside_fp16(model) if precision == "fp16" else []
    original_outputs = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
    block_list = list(float16.DEFAULT_OP_BLOCK_LIST)
    if precision == "bf16":  # bf16's weights come from the fp32 originals, before the converter clamps them
        originals = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer
                     if t.data_type == TensorProto.FLOAT}
        block_list += _ops_without_bf16(model)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        converted = float16.convert_float_to_float16(model, keep_io_types=True, op_block_list=block_list,
                                                     node_block_list=list(exclude) or None)
    retargeted = _retarget_float_casts(converted.graph)
    rewired = _read_outputs_in_fp16(converted.graph)
    if precision == "bf16":
        _retype_to_bf16(converted.graph, originals)
    restored = _restore_output_types(converted.graph, original_outputs)
    onnx.save(converted, str(target))
    dropped = _drop_contradicting_annotations(converted, target)
    reduced_type = TensorProto.BFLOAT16 if precision == "bf16" else TensorProto.FLOAT16
    kept = Counter(node.op_type for node in model.graph.node if node.op_type in block_list)
    reduced_initializers = sum(1 for t in converted.graph.initializer if t.data_type == reduced_type)
    casts = sum(1 for n in converted.graph.node if n.op_type == "Cast") - sum(1 for n in model.graph.node
                                                                              if n.op_type == "Cast")
    converter = "onnxconverter-common float16 (keep_io_types)" + (", retyped to bfloat16" if precision == "bf16" else "")
    return {"precision": precision, "converter": converter,
            "path": str(target), "bytes": model_bytes(target), "fp32_bytes": model_bytes(source),
            "nodes_kept_fp32": dict(kept), "casts_inserted": casts, f"{precision}_initializers": reduced_initializers,
            "weights_clamped": clamped, "casts_retargeted": retargeted, "output_consumers_rewired": rewired,
            "functions_inlined": functions, "output_types_restored": restored, "annotations_dropped": dropped,
            "warnings": sorted({str(w.message).splitlines()[0][:200] for w in said})}


def _drop_contradicting_annotations(model, target: str | Path) -> str:
    """The converter's shape annotations around the Casts it inserts can contradict ONNX Runtime's own
    inference (a jax2onnx CNN with Conv kept fp32 in bf16: "Add: Incompatible dimensions" once ORT's optimizer
    re-infers them), and ORT then refuses the graph. Loaded once: if ORT refuses it for its shapes, the annotations
    go (ORT infers shapes itself) — only then, since ORT has crashed on a torch transformer with none.
    Returns why they were dropped, or ""."""
    import onnx

    from aibench_onnx.ort.session import refusal_on_load

    said = refusal_on_load(str(target))  # only a shape contradiction is ours to fix; a missing kernel is ORT's
    if "ShapeInferenceError" not in said and "Incompatible dimensions" not in said:
        return ""
    del model.graph.value_info[:]
    onnx.save(model, str(target))
    return said[said.find("[ShapeInferenceError]"):][:200] or said[:200]


def _restore_output_types(graph, original: dict[str, int]) -> list[str]:
    """keep_io_types promises fp32 outputs, but an output made by a block-listed op (a graph that is one Conv,
    kept fp32 in bf16) comes out declared fp16/bf16 behind a Cast to it: the Cast goes back to the original
    type, so the output is what the fp32 graph's was. Returns the outputs restored."""
    producer = {output: node for node in graph.node for output in node.output}
    restored = []
    for output in graph.output:
        wanted = original.get(output.name)
        cast = producer.get(output.name)
        if wanted is None or output.type.tensor_type.elem_type == wanted or cast is None or cast.op_type != "Cast":
            continue
        next(a for a in cast.attribute if a.name == "to").i = wanted
        output.type.tensor_type.elem_type = wanted
        restored.append(output.name)
    return restored


def _ops_without_bf16(model) -> list[str]:
    """Op types whose schema at the graph's opset takes float but not bfloat16 in one of its type constraints
    (Conv and MaxPool before opset 22, Range, Dropout's ratio): a bf16 graph with them is invalid ONNX, so
    they stay fp32 behind Casts, as blocked ops do."""
    import onnx

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    missing = set()
    for op in {node.op_type for node in model.graph.node if node.domain in ("", "ai.onnx")}:
        try:
            schema = onnx.defs.get_schema(op, opset)
        except onnx.defs.SchemaError:
            continue
        floats = [c.allowed_type_strs for c in schema.type_constraints if "tensor(float)" in c.allowed_type_strs]
        if not all("tensor(bfloat16)" in allowed for allowed in floats):  # e.g. Dropout's ratio
            missing.add(op)
    return sorted(missing)


def _retype_to_bf16(graph, originals: dict[str, np.ndarray]) -> None:
    """Every float16 in the converted graph becomes bfloat16: weights (from their fp32 originals, so nothing
    stays clamped to fp16's range), Cast targets, constants, declared types; subgraphs too."""
    import ml_dtypes
    from onnx import TensorProto, numpy_helper

    def retyped(tensor):
        values = originals.get(tensor.name)
        values = numpy_helper.to_array(tensor).astype(np.float32) if values is None else values
        return numpy_helper.from_array(values.astype(ml_dtypes.bfloat16), tensor.name)

    for tensor in graph.initializer:
        if tensor.data_type == TensorProto.FLOAT16:
            tensor.CopyFrom(retyped(tensor))
    for value in list(graph.value_info) + list(graph.input) + list(graph.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT16:
            value.type.tensor_type.elem_type = TensorProto.BFLOAT16
    for node in graph.node:
        for attribute in node.attribute:
            if node.op_type == "Cast" and attribute.name == "to" and attribute.i == TensorProto.FLOAT16:
                attribute.i = TensorProto.BFLOAT16
            if attribute.HasField("t") and attribute.t.data_type == TensorProto.FLOAT16:
                attribute.t.CopyFrom(retyped(attribute.t))
            if attribute.g.node:
                _retype_to_bf16(attribute.g, originals)
            for subgraph in attribute.graphs:
                _retype_to_bf16(subgraph, originals)


def _retarget_float_casts(graph, main: bool = True) -> int:
    """The converter declares a converted Cast's output fp16 but leaves the node casting to float (`to=1`):
    ORT refuses the graph ("Type (tensor(float16)) of output arg ... does not match expected type
    (tensor(float))"). The graph around it is fp16, so the Cast must produce fp16. Subgraphs (Loop, If,
    Scan bodies) too. Returns how many Casts were retargeted."""
    from onnx import TensorProto

    declared = {v.name: v.type.tensor_type.elem_type for v in list(graph.value_info) + list(graph.output)}
    graph_outputs = {o.name for o in graph.output} if main else set()  # the main graph's outputs stay fp32
    count = 0
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.g.node:
                count += _retarget_float_casts(attribute.g, main=False)
            for subgraph in attribute.graphs:
                count += _retarget_float_casts(subgraph, main=False)
        if node.op_type != "Cast" or node.output[0] in graph_outputs:
            continue
        to = next((a for a in node.attribute if a.name == "to"), None)
        if to is not None and to.i == TensorProto.FLOAT and declared.get(node.output[0]) == TensorProto.FLOAT16:
            to.i = TensorProto.FLOAT16
            count += 1
    return count


def _read_outputs_in_fp16(graph) -> int:
    """A graph output that the graph also reads (BERT's last_hidden_state feeds its pooler): keep_io_types
    casts the output back to float, and the converter leaves the inner readers on that float tensor while
    declaring their outputs fp16, so ORT refuses the graph ("Type (tensor(float16)) of output arg (select)
    ... does not match expected type (tensor(float))"). The readers take the fp16 value before the Cast, as
    the rest of the converted graph does. Returns how many node inputs were rewired."""
    from onnx import TensorProto

    declared = {v.name: v.type.tensor_type.elem_type for v in graph.value_info}
    producer = {output: node for node in graph.node for output in node.output}
    before_cast = {}
    for output in graph.output:
        cast = producer.get(output.name)
        if cast is not None and cast.op_type == "Cast" and declared.get(cast.input[0]) == TensorProto.FLOAT16:
            before_cast[output.name] = cast.input[0]
    count = 0
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name in before_cast and node is not producer.get(name):
                node.input[index] = before_cast[name]
                count += 1
    return count


def _weights_outside_fp16(model) -> list[str]:
    """Float weights the converter clamps: beyond ±1e4 (its max_finite_val) or below 1e-7 in magnitude
    (not zero). An attention mask of -1e9 becomes -1e4; a tiny epsilon becomes 1e-7."""
    from onnx import TensorProto, numpy_helper

    found = []
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        values = np.abs(numpy_helper.to_array(tensor))
        large, tiny = int((values > 1e4).sum()), int(((values > 0) & (values < 1e-7)).sum())
        if large or tiny:
            found.append(f"{tensor.name}: {large} above 1e4, {tiny} below 1e-7")
    return found[:20]
