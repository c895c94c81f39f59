"""JAX/Flax -> ONNX with jax2onnx.to_onnx on the NNX module, batch dimension symbolic ("batch").

JAX runs without 64-bit types by default, so int64 inputs (token ids) are traced, and exported, as int32.
jax2onnx's enable_double_precision would keep int64 but also turns every float into double, which ORT
cannot run for Erf. The graph therefore declares int32 token ids; the ORT runner casts int64 feeds that
fit losslessly and records the cast.
"""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "jax2onnx", metadata.version("jax2onnx")


def export(model, spec, dims, example_inputs, path, opset: int, dynamic: list[dict[int, str]] | None = None) -> list[str]:
    """Inputs by position. `dynamic`: per input, axis -> symbolic name (None: the first axis, "batch")."""
    import jax
    from jax2onnx import to_onnx

    # One symbolic scope, so inputs share their dimensions by name ("batch", "seq").
    scope = jax.export.SymbolicScope()
    dynamic = dynamic if dynamic is not None else [{0: "batch"} for _ in example_inputs]
    inputs = []
    for array, axes in zip(example_inputs, dynamic):
        dims_text = ", ".join(axes.get(axis, str(size)) for axis, size in enumerate(array.shape))
        inputs.append(jax.ShapeDtypeStruct(jax.export.symbolic_shape(dims_text, scope=scope), array.dtype))
    to_onnx(model, inputs, model_name=spec.name, opset=opset, return_mode="file", output_path=str(path),
            input_names=[t.name for t in spec.inputs], output_names=[t.name for t in spec.outputs])
    return []
