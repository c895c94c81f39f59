"""PyTorch -> ONNX with torch.onnx.export(dynamo=True): torch.export, then onnxscript translation."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "torch.onnx (dynamo)", metadata.version("torch")


def export(model, spec, dims, example_inputs, path, opset: int, dynamic: list[dict[int, str]] | None = None) -> list[str]:
    """`dynamic`: per input, the axes to keep symbolic (a user's model). torch decides their ranges itself
    (Dim.AUTO): an axis the model's code pins to one size comes out fixed instead of failing the export, and
    the export record says so (frameworks/user_model.py). None: the zoo's batch axis, declared Dim("batch")."""
    import inspect

    import torch

    tensors = tuple(torch.from_numpy(a) for a in example_inputs)
    if dynamic is None:
        batch = torch.export.Dim("batch", min=1, max=65536)
        dynamic_shapes = tuple({0: batch} for _ in tensors)  # every zoo input carries the batch first
    else:
        dynamic_shapes = tuple({axis: torch.export.Dim.AUTO for axis in axes} for axes in dynamic)
    parameters = inspect.signature(model.forward).parameters.values()
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        dynamic_shapes = (dynamic_shapes,)  # forward(*inputs): one parameter holding every input
    program = torch.onnx.export(
        model, tensors, dynamo=True, opset_version=opset, dynamic_shapes=dynamic_shapes,
        input_names=[t.name for t in spec.inputs], output_names=[t.name for t in spec.outputs],
        external_data=False, optimize=True, verbose=False,
    )
    program.save(str(path), external_data=False)
    return []
