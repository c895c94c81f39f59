"""A graph whose fp16 variant overflows in one node, for `check --precision fp32,fp16 --repair` (issue 30 item 2)
and a comparison with onnxconverter-common's own `auto_convert_mixed_precision` on the same graph and inputs.

x [8, 64] -> MatMul(w1) -> Relu -> Mul(3000) -> MatMul(w2) -> Div(3000) -> Tanh -> MatMul(w3) -> y: the scaled
activations reach ~3e4-1e5 after the second MatMul, past fp16's 65504, so the fp16 variant computes inf there and the
output is NaN; leaving that MatMul (and the scale around it) in fp32 repairs it.

    python benchmarks/fp16_overflow.py OUT_DIR [--compare-auto]
writes OUT_DIR/fp16_overflow.onnx and, with --compare-auto, what auto_convert_mixed_precision keeps in fp32.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def overflowing_graph() -> onnx.ModelProto:
    rng = np.random.default_rng(11)
    weights = {"w1": rng.normal(0, 0.5, (64, 64)), "w2": rng.normal(0, 0.5, (64, 64)),
               "w3": rng.normal(0, 0.2, (64, 16)), "scale": np.array(3000.0)}
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h1"], name="fc1"),
             helper.make_node("Relu", ["h1"], ["a1"], name="act1"),
             helper.make_node("Mul", ["a1", "scale"], ["up"], name="scale_up"),
             helper.make_node("MatMul", ["up", "w2"], ["h2"], name="fc2"),
             helper.make_node("Div", ["h2", "scale"], ["down"], name="scale_down"),
             helper.make_node("Tanh", ["down"], ["a2"], name="act2"),
             helper.make_node("MatMul", ["a2", "w3"], ["y"], name="fc3")]
    graph = helper.make_graph(nodes, "fp16_overflow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
                              initializer=[numpy_helper.from_array(v.astype(np.float32), k)
                                           for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def compare_auto(path: Path) -> None:
    """onnxconverter-common's own search: it keeps nodes in fp32 until the outputs match within rtol/atol. It
    validates on ONNX Runtime's CPU provider (its sessions name no other), where fp16 kernels largely run in fp32:
    an overflow only a GPU provider shows is invisible to it."""
    from onnxconverter_common import auto_mixed_precision

    feed = {"x": np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)}
    started = time.perf_counter()
    mixed = auto_mixed_precision.auto_convert_mixed_precision(onnx.load(str(path)), feed, rtol=1e-2, atol=1e-2,
                                                              keep_io_types=True)
    seconds = time.perf_counter() - started
    fp32 = {t.name for t in mixed.graph.initializer if t.data_type == TensorProto.FLOAT}
    kept = [n.name for n in mixed.graph.node if n.op_type != "Cast" and fp32 & set(n.input)]
    target = path.with_name("fp16_overflow.auto_mixed.onnx")
    onnx.save(mixed, str(target))
    print(f"auto_convert_mixed_precision: {seconds:.1f} s; nodes reading fp32 weights (kept fp32): {kept}; {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--compare-auto", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "fp16_overflow.onnx"
    onnx.save(overflowing_graph(), str(path))
    print(path)
    if args.compare_auto:
        compare_auto(path)


if __name__ == "__main__":
    main()
