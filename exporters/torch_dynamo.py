"""PyTorch -> ONNX with torch.onnx.export(dynamo=True): torch.export, then onnxscript translation."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "torch.onnx (dynamo)", metadata.version("torch")


def export(model, spec, dims, example_inputs, path, opset: int) -> list[str]:
    import torch

    batch = torch.export.Dim("batch", min=1, max=65536)
    # Only the batch dimension is dynamic; every input carries it first.
    dynamic_shapes = tuple({0: batch} for _ in spec.inputs)
    args = tuple(torch.from_numpy(a) for a in example_inputs)
    program = torch.onnx.export(
        model, args, dynamo=True, opset_version=opset, dynamic_shapes=dynamic_shapes,
        input_names=[t.name for t in spec.inputs], output_names=[t.name for t in spec.outputs],
        external_data=False, optimize=True, verbose=False,
    )
    program.save(str(path), external_data=False)
    return []
