"""Static cost of a node (FLOPs and bytes moved, from the shapes its kernel ran on) and the rate it achieved
against this machine's peaks, measured once with ONNX Runtime itself (a large MatMul for FLOP/s, a large Add
for memory bandwidth) at the same thread count and cached per machine, so a line can say memory-bound,
compute-bound or dispatch-bound. A rate above the peak is a timing error and is flagged."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from aibench_onnx.profiles import NodeTime

ITEM_BYTES = {"float": 4, "float16": 2, "bfloat16": 2, "double": 8, "int64": 8, "int32": 4, "int8": 1, "uint8": 1,
              "bool": 1}
# per output element: elementwise 1, normalization ~8 (mean, variance, scale, shift), softmax ~5 (max, exp, sum,
# divide), GELU ~8; matrix products and convolutions are counted exactly
PER_ELEMENT = {"LayerNormalization": 8, "SkipLayerNormalization": 9, "SimplifiedLayerNormalization": 6,
               "BatchNormalization": 4, "Softmax": 5, "LogSoftmax": 5, "Gelu": 8, "FastGelu": 8, "BiasGelu": 9,
               "Erf": 8, "Tanh": 4, "Sigmoid": 4, "Exp": 4, "Sqrt": 2, "Pow": 4}
ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Relu", "Clip", "Max", "Min", "Neg", "Abs", "Where", "LeakyRelu",
               "HardSigmoid", "HardSwish", "ReduceMean", "ReduceSum", "ReduceMax"}
DISPATCH_US = 5.0  # a node this short costs about what launching it does
PEAK_CACHE = Path(os.environ.get("AIBENCH_CACHE", Path.home() / ".cache" / "aibench-onnx"))


def _elements(shape: list[int]) -> int:
    return int(np.prod(shape)) if shape else 1


def node_flops(node: NodeTime) -> float | None:
    """FLOPs of one call of the node's kernel (None: not estimated for this operator)."""
    op, inputs, outputs = node.op_type, node.input_shapes, node.output_shapes
    if not outputs:
        return None
    out = _elements(outputs[0])
    if op in ("MatMul", "FusedMatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat") \
            and len(inputs) >= 2 and inputs[0]:
        k = inputs[0][-1] if op != "Gemm" or len(inputs[0]) < 2 else min(inputs[0])  # Gemm may transpose A
        return 2.0 * out * k
    if op in ("Conv", "FusedConv", "QLinearConv", "ConvInteger") and len(inputs) >= 2 and len(inputs[1]) >= 3:
        return 2.0 * out * _elements(inputs[1][1:])  # weights: [out channels, in channels / group, kernel...]
    if op in ("LSTM", "GRU", "RNN") and len(inputs) >= 3 and len(inputs[0]) == 3:
        steps, batch, _ = inputs[0]
        gates_x, gates_h = _elements(inputs[1]), _elements(inputs[2])  # W [dirs, gates*hidden, in], R [..., hidden]
        return 2.0 * steps * batch * (gates_x + gates_h)
    if op in ("Attention", "MultiHeadAttention") and inputs and len(inputs[0]) == 3:
        batch, seq, hidden = inputs[0]
        return 2.0 * batch * seq * hidden * (3 * hidden + 2 * seq)
    if op in PER_ELEMENT:
        return float(PER_ELEMENT[op] * out)
    if op in ELEMENTWISE:
        return float(_elements(inputs[0]) if inputs else out)
    return None


def node_bytes(node: NodeTime) -> float:
    """Bytes read and written by one call: every input and output once (a lower bound on traffic)."""
    types = node.input_types + [node.input_types[0] if node.input_types else "float"] * len(node.output_shapes)
    shapes = node.input_shapes + node.output_shapes
    return float(sum(_elements(shape) * ITEM_BYTES.get(kind, 4) for shape, kind in zip(shapes, types)))


def measure_peaks(threads: int) -> dict:
    """This machine's FLOP/s (a 1024³ MatMul) and memory bandwidth (an Add over 2×16 M floats) with ONNX
    Runtime's CPU provider at `threads`: the best of several calls, cached per CPU model and thread count."""
    key = f"{platform.processor() or platform.machine()}-{os.cpu_count()}-{threads}"
    cache = PEAK_CACHE / "peaks.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if key in known:
        return known[key]
    import onnx
    from onnx import TensorProto, helper

    from aibench_onnx.ort.session import create_session

    def best_seconds(op: str, shape_a, shape_b, calls: int = 5) -> float:
        graph = helper.make_graph([helper.make_node(op, ["a", "b"], ["c"])], "peak",
                                  [helper.make_tensor_value_info("a", TensorProto.FLOAT, shape_a),
                                   helper.make_tensor_value_info("b", TensorProto.FLOAT, shape_b)],
                                  [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        path = PEAK_CACHE / f"peak-{op}.onnx"
        PEAK_CACHE.mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(path))
        session, _ = create_session(str(path), "cpu", "all", threads)
        rng = np.random.default_rng(0)
        feed = {"a": rng.standard_normal(shape_a, dtype=np.float32), "b": rng.standard_normal(shape_b, dtype=np.float32)}
        session.run(None, feed)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - started)
        return min(times)

    n, elements = 1024, 16 * 2**20
    peaks = {"gflops": 2 * n**3 / best_seconds("MatMul", [n, n], [n, n]) / 1e9,
             "gbytes_per_s": 3 * 4 * elements / best_seconds("Add", [elements], [elements]) / 1e9,
             "threads": threads, "measured": time.strftime("%Y-%m-%d")}
    known[key] = peaks
    cache.write_text(json.dumps(known, indent=1))
    return peaks


def rates(nodes: list[NodeTime], peaks: dict) -> dict[str, dict]:
    """Per operator type: time, FLOPs, bytes, achieved rates, share of peak and the bound that fits best."""
    groups: dict[str, list[NodeTime]] = {}
    for node in nodes:
        if not node.nested:
            groups.setdefault(node.op_type, []).append(node)
    found = {}
    for op, members in groups.items():
        seconds = sum(n.median_us for n in members) / 1e6
        flops = [node_flops(n) for n in members]
        total_flops = sum(f for f in flops if f is not None) if any(f is not None for f in flops) else None
        total_bytes = sum(node_bytes(n) for n in members)
        gflops = total_flops / seconds / 1e9 if total_flops and seconds else None
        gbytes = total_bytes / seconds / 1e9 if seconds else None
        compute = gflops / peaks["gflops"] if gflops is not None else None
        memory = gbytes / peaks["gbytes_per_s"] if gbytes is not None else None
        per_node_us = statistics.median(n.median_us for n in members)
        found[op] = {"nodes": len(members), "time_us": seconds * 1e6, "gflop": (total_flops or 0) / 1e9 or None,
                     "mbytes": total_bytes / 1e6, "gflops": gflops, "gbytes_per_s": gbytes,
                     "of_peak_flops": compute, "of_peak_bandwidth": memory,
                     "bound": _bound(compute, memory, per_node_us)}
    return found


def _bound(compute: float | None, memory: float | None, per_node_us: float) -> str:
    if (compute or 0) > 1.2 or (memory or 0) > 3.0:  # caches can beat DRAM bandwidth, never the FLOP peak
        return "above the measured peak: a timing error"
    if (compute or 0) >= 0.4:
        return "compute-bound"
    if (memory or 0) >= 0.4:
        return "memory-bound"
    if per_node_us < DISPATCH_US:
        return "dispatch-bound"
    return "below both peaks"
