"""ONNX graphs shaped like the files deployed packages ship, built with onnx.helper (not by aibench's exporters):
unnamed dims declared as 0, -1, '?' or not at all, dotted dim names (paddle2onnx's `p2o.DynamicDimension.0`),
a 0-d input whose value selects an If branch, recurrent state inputs, a Conv whose input rank is only known
after an If, and weights kept as external data."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _value(name: str, elem_type: int, dims: list | None) -> onnx.ValueInfoProto:
    """dims: ints (static; 0 and -1 written as dim_value, as old exporters do), names, '' (a dim with neither
    field set), or None for no shape at all."""
    value = helper.make_tensor_value_info(name, elem_type, None)
    if dims is None:
        return value
    shape = value.type.tensor_type.shape
    shape.SetInParent()
    for dim in dims:
        entry = shape.dim.add()
        if isinstance(dim, int):
            entry.dim_value = dim
        elif dim:
            entry.dim_param = dim
    return value


def if_conv_graph(image_dims=("p2o.DynamicDimension.0", 3, -1, "?")) -> onnx.ModelProto:
    """images [N,3,H,W] and a 0-d int64 sample rate `sr`: sr == 16000 keeps the images, any other rate halves
    them (an If whose branches declare no output shape), then a 3x3 Conv and a global mean. Valid values of `sr`
    are 8000 and 16000; random ones take the else branch, which is valid at batch 1 only."""
    rng = np.random.default_rng(7)
    weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    rate = numpy_helper.from_array(np.array(16000, dtype=np.int64), "rate")
    half = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half")
    axis0 = numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0")
    then_graph = helper.make_graph([helper.make_node("Identity", ["images"], ["kept"])], "then", [],
                                   [helper.make_tensor_value_info("kept", TensorProto.FLOAT, None)])
    # Squeeze without axes drops every size-1 dim: the branch's rank is unknown until the sizes are (a
    # streaming model's batch-1 trick), so the Conv's input rank is dynamic after the If
    else_graph = helper.make_graph([helper.make_node("Mul", ["images", "half"], ["halved"]),
                                    helper.make_node("Squeeze", ["halved"], ["squeezed"]),
                                    helper.make_node("Unsqueeze", ["squeezed", "axis0"], ["restored"])], "else", [],
                                   [helper.make_tensor_value_info("restored", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("Equal", ["sr", "rate"], ["is_16k"], name="rate_check"),
             helper.make_node("If", ["is_16k"], ["chosen"], name="by_rate", then_branch=then_graph,
                              else_branch=else_graph),
             helper.make_node("Conv", ["chosen", "w"], ["features"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("ReduceMean", ["features"], ["score"], name="pool", axes=[2, 3], keepdims=0)]
    graph = helper.make_graph(nodes, "deployed", [_value("images", TensorProto.FLOAT, list(image_dims)),
                                                  _value("sr", TensorProto.INT64, [])],
                              [_value("score", TensorProto.FLOAT, [image_dims[0], 4])],
                              initializer=[weight, rate, half, axis0])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8,
                             producer_name="paddle2onnx", producer_version="1.0")


def recurrent_graph() -> onnx.ModelProto:
    """A streaming step with a state input (as speech models ship): x [1, T, 8] with T declared as 0, state
    [2, 1, 16] static; GRU over x from the state; outputs y and the next state."""
    rng = np.random.default_rng(3)
    hidden = 16
    inits = [numpy_helper.from_array(rng.standard_normal((1, 3 * hidden, 8)).astype(np.float32) * 0.3, "W"),
             numpy_helper.from_array(rng.standard_normal((1, 3 * hidden, hidden)).astype(np.float32) * 0.3, "R"),
             numpy_helper.from_array(np.zeros((1, 6 * hidden), np.float32), "B")]
    nodes = [helper.make_node("Transpose", ["x"], ["x_t"], perm=[1, 0, 2]),
             helper.make_node("Slice", ["state", "zero", "one", "zero"], ["h0"]),
             helper.make_node("GRU", ["x_t", "W", "R", "B", "", "h0"], ["", "h1"], hidden_size=hidden),
             helper.make_node("Concat", ["h1", "h1"], ["next_state"], axis=0),
             helper.make_node("Squeeze", ["h1", "zero"], ["y"])]
    inits += [numpy_helper.from_array(np.array([0], np.int64), "zero"),
              numpy_helper.from_array(np.array([1], np.int64), "one")]
    graph = helper.make_graph(nodes, "stream", [_value("x", TensorProto.FLOAT, [1, 0, 8]),
                                                _value("state", TensorProto.FLOAT, [2, 1, hidden])],
                              [_value("y", TensorProto.FLOAT, [1, hidden]),
                               _value("next_state", TensorProto.FLOAT, [2, 1, hidden])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


def if_conv_reference(images: np.ndarray, sr: int) -> np.ndarray:
    """What if_conv_graph computes, in numpy."""
    weight = np.random.default_rng(7).standard_normal((4, 3, 3, 3)).astype(np.float32)
    chosen = images if sr == 16000 else images * np.float32(0.5)
    padded = np.pad(chosen, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, _, h, w = images.shape
    out = np.zeros((n, 4, h, w), np.float32)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,oc->nohw", padded[:, :, i:i + h, j:j + w], weight[:, :, i, j])
    return out.mean(axis=(2, 3))
