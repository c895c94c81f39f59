"""PyTorch -> ONNX with torch.onnx.export(dynamo=True): torch.export, then onnxscript translation."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "torch.onnx (dynamo)", metadata.version("torch")


def export(model, spec, dims, example_inputs, path, opset: int, by_name: bool = False) -> list[str]:
    """`by_name`: the inputs go to forward as keyword arguments named after the spec's inputs (users' models
    such as Hugging Face's take input_ids=..., attention_mask=...)."""
    import torch

    batch = torch.export.Dim("batch", min=1, max=65536)
    names = [t.name for t in spec.inputs]
    tensors = [torch.from_numpy(a) for a in example_inputs]
    # Only the batch dimension is dynamic; every input carries it first.
    if by_name:
        args, kwargs, dynamic_shapes = (), dict(zip(names, tensors)), {name: {0: batch} for name in names}
    else:
        args, kwargs, dynamic_shapes = tuple(tensors), None, tuple({0: batch} for _ in names)
    program = torch.onnx.export(
        model, args, kwargs=kwargs, dynamo=True, opset_version=opset, dynamic_shapes=dynamic_shapes,
        input_names=[t.name for t in spec.inputs], output_names=[t.name for t in spec.outputs],
        external_data=False, optimize=True, verbose=False,
    )
    program.save(str(path), external_data=False)
    return []
