"""TensorFlow -> ONNX with tf2onnx.convert.from_function on a tf.function with an input signature."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "tf2onnx", metadata.version("tf2onnx")


def export(model, spec, dims, example_inputs, path, opset: int, dynamic: list[dict[int, str]] | None = None) -> list[str]:
    """Inputs by position (Keras' convention); outputs flattened as frameworks/outputs.py names them, so a
    dict or nested result keeps the order of its names. `dynamic`: per input, the axes left unknown
    (None: the first axis of each)."""
    import tensorflow as tf
    import tf2onnx

    from aibench_onnx.frameworks import tf_fw
    from aibench_onnx.frameworks.outputs import flatten_outputs
    from aibench_onnx.graph.edit import rename_graph_io

    dynamic = dynamic if dynamic is not None else [{0: "batch"} for _ in example_inputs]
    signature = [
        tf.TensorSpec(tuple(None if axis in axes else size for axis, size in enumerate(a.shape)),
                      tf.as_dtype(a.dtype), name=t.name)
        for t, a, axes in zip(spec.inputs, example_inputs, dynamic)
    ]

    @tf.function(input_signature=signature)
    def forward(*tensors):
        return tuple(flatten_outputs(tf_fw.call(model, list(tensors)), tf.is_tensor).values())

    onnx_model, _ = tf2onnx.convert.from_function(forward, input_signature=signature, opset=opset)
    _freeze_captured_constants(onnx_model, forward.get_concrete_function())
    # tf2onnx names outputs after TF tensors ("Identity:0"); give them the spec's names.
    rename_graph_io(onnx_model, [t.name for t in spec.inputs], [t.name for t in spec.outputs])
    import onnx

    onnx.save(onnx_model, str(path))
    return []


def _freeze_captured_constants(onnx_model, concrete) -> None:
    """Constant tensors a Keras model captured (not variables: Keras 3's Normalization layer in EfficientNet
    keeps its mean and variance so) come out of tf2onnx as extra graph inputs. Make them initializers
    holding the captured values, as variables are."""
    from onnx import numpy_helper

    graph = concrete.graph
    captured = {internal.name: external.numpy()
                for external, internal in zip(graph.external_captures, graph.internal_captures)
                if external.dtype.name != "resource" and hasattr(external, "numpy")}
    for value in [value for value in onnx_model.graph.input if value.name in captured]:
        onnx_model.graph.input.remove(value)
        onnx_model.graph.initializer.append(numpy_helper.from_array(captured[value.name], value.name))
