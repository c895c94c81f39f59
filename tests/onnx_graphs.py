"""Tiny ONNX graphs built in tests, so ORT-level behaviour is tested without any ML framework."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear_graph(weight: np.ndarray, bias: np.ndarray, batch_dim="batch", output_name="y") -> onnx.ModelProto:
    """y = x @ W + b with a symbolic batch dimension."""
    k, n = weight.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], [output_name])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch_dim, k])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch_dim, n])],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def save(model: onnx.ModelProto, path) -> str:
    onnx.save(model, str(path))
    return str(path)
