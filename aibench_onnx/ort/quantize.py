"""int8 variants of an fp32 ONNX graph with ONNX Runtime's own quantization tools.

- int8-dynamic: `quantize_dynamic` — int8 weights, activations quantized per call from their observed range
  (MatMulInteger / ConvInteger / DynamicQuantizeLinear).
- int8-static: `quantize_static` in QDQ format, activations calibrated (MinMax) on seeded inputs that are
  never the ones the variant is judged on; the same calibration inputs give the same scales, bit for bit.

Each returns a record: what was quantized, what stayed float, size on disk. A graph the quantizer refuses is
a record with its reason, not a crash.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

from aibench_onnx.graph.load import model_bytes
from aibench_onnx.status import Status

_QUANTIZABLE = ("MatMul", "Gemm", "Conv", "ConvTranspose", "Attention", "LSTM", "GRU")


def _describe(source: str | Path, target: str | Path, precision: str, method: str, nodes_before: int) -> dict:
    """`nodes_before`: of the graph as the quantizer was given it (functions inlined, Constants moved)."""
    import onnx

    after = onnx.load(str(target), load_external_data=False)
    ops_after = Counter(node.op_type for node in after.graph.node)
    left_float = {op: ops_after[op] for op in _QUANTIZABLE if ops_after.get(op)}
    if precision == "int8-static":  # QDQ keeps the float op between DequantizeLinear and QuantizeLinear
        quantized_inputs = {o for n in after.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
        left_float = dict(Counter(n.op_type for n in after.graph.node
                                  if n.op_type in _QUANTIZABLE and not set(n.input) & quantized_inputs))
    added = {op: count for op, count in ops_after.items()
             if op in ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                       "ConvInteger", "QLinearMatMul", "QLinearConv")}
    return {"precision": precision, "converter": method, "status": Status.OK, "path": str(target),
            "bytes": model_bytes(target), "fp32_bytes": model_bytes(source),
            "quantization_nodes": added, "left_float": left_float,
            "nodes": {"before": nodes_before, "after": len(after.graph.node)}}


def _prepared(source: str | Path):
    """The graph without the exporter's intermediate shape annotations (the quantizer re-infers shapes and
    refuses a graph whose annotations contradict its own inference: torch.onnx's do, after a dynamic batch)
    and with its local functions inlined and constant weights as initializers (the quantizer sees only the
    main graph's initializers: a jax2onnx export — one call per Flax module, weights as Constant nodes —
    would come out with nothing quantized)."""
    import onnx

    from aibench_onnx.graph.edit import constants_to_initializers, inline_local_functions

    model = inline_local_functions(onnx.load(str(source)))
    constants_to_initializers(model)
    del model.graph.value_info[:]
    for index, node in enumerate(model.graph.node):  # the quantizer's exclusions go by name: every node gets one
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    return model


def prepared_nodes(source: str | Path) -> list[tuple[str, str]]:
    """(name, op type) of each node the quantizer can turn int8, as it will see them (functions inlined, unnamed
    nodes named): the names `exclude` takes."""
    return [(node.name, node.op_type) for node in _prepared(source).graph.node if node.op_type in _QUANTIZABLE]


def prepared_graph(source: str | Path):
    """The graph as the quantizer sees it: what a variant's tensor names refer to."""
    return _prepared(source)


@contextlib.contextmanager
def _quiet_quantizer():
    """The quantizer warns on the root logger ("consider pre-processing") for every graph: not our reader's
    concern, and it would land in the middle of the CLI's tables."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_int8_dynamic(source: str | Path, target: str | Path, exclude: Iterable[str] = ()) -> dict:
    """`exclude`: names of nodes (in the prepared graph, `prepared_nodes`) left in float (a precision repair)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = _prepared(source)
    nodes_before = len(model.graph.node)  # counted first: the quantizer may change the model it is given
    # 7-bit weights where u8s8 kernels saturate; not for convolutions, which lose more to the coarser weights than
    # to saturation (MobileNetV3 at tiny: SQNR 5.9 dB with reduce_range, above 13 dB without)
    reduce_range = saturating_int8_cpu() and not any(n.op_type in ("Conv", "ConvTranspose") for n in model.graph.node)
    try:
        with _quiet_quantizer():
            quantize_dynamic(model, str(target), weight_type=QuantType.QInt8, reduce_range=reduce_range,
                             nodes_to_exclude=list(exclude))
    except Exception as exc:  # noqa: BLE001 - the quantizer's refusal is the result
        return _refused("int8-dynamic", exc)
    record = _describe(source, target, "int8-dynamic", "onnxruntime.quantization.quantize_dynamic (int8 weights"
                       + (", reduce_range: 7-bit weights" if reduce_range else "") + ")", nodes_before)
    if reduce_range:
        record["reduce_range"] = ("7-bit weights: this CPU has AVX2 but no VNNI, where ONNX Runtime's u8s8 int8 "
                                  "kernels (VPMADDUBSW) saturate with full-range weights (its quantization docs)")
    return record


def saturating_int8_cpu() -> bool:
    """An x86 CPU with AVX2 and no VNNI (avx512_vnni, avx_vnni): ONNX Runtime's dynamic int8 MatMul adds pairs of
    u8 x s8 products in 16 bits there, which saturates with full-range int8 weights — reduce_range avoids it."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and not {"avx512_vnni", "avx_vnni"} & set(flags)


def quantize_int8_static(source: str | Path, target: str | Path, calibration: Iterable[dict[str, np.ndarray]],
                         exclude: Iterable[str] = ()) -> dict:
    """QDQ, int8 activations and weights, MinMax calibration over `calibration` (feeds by input name); `exclude`:
    nodes left in float."""
    from onnx import helper
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from aibench_onnx.graph.load import cast_to_declared

    model = _prepared(source)
    nodes_before = len(model.graph.node)
    # The calibration session takes feeds as they are; jax2onnx declares int32 token ids where the zoo draws
    # int64: cast as the ORT runner does.
    initializers = {tensor.name for tensor in model.graph.initializer}
    declared = [(v.name, helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type),
                 helper.tensor_dtype_to_string(v.type.tensor_type.elem_type))
                for v in model.graph.input if v.name not in initializers]
    feeds: list[dict[str, np.ndarray]] = []

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._feeds = iter(feeds)

        def get_next(self):
            return next(self._feeds, None)

    try:
        feeds += [cast_to_declared(declared, feed)[0] for feed in calibration]
        with _quiet_quantizer():
            quantize_static(model, str(target), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=list(exclude))
    except Exception as exc:  # noqa: BLE001
        return _refused("int8-static", exc)
    record = _describe(source, target, "int8-static", "onnxruntime.quantization.quantize_static (QDQ, MinMax)",
                       nodes_before)
    record["calibration_sets"] = len(feeds)
    return record


def _refused(precision: str, exc: Exception) -> dict:
    said = " ".join(str(exc).split())[:300]
    return {"precision": precision, "status": Status.FAILED,
            "reason": f"the quantizer refused the graph: {type(exc).__name__}: {said}"}
