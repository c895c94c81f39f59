"""PyTorch -> ONNX with torch.onnx's TorchScript-based exporter (torch.onnx.export(dynamo=False)): tracing with
torch.jit, then the TorchScript-to-ONNX symbolic functions. Deprecated since torch 2.9 but still what many
deployed pipelines use; beside the dynamo exporter it gives an exporter effect inside one framework on the
same weights."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "torch.onnx (TorchScript)", metadata.version("torch")


def export(model, spec, dims, example_inputs, path, opset: int,
           dynamic: list[dict[int, str]] | None = None) -> list[str]:
    """`dynamic`: per input, axis -> symbolic name (None: the first axis of each, "batch"). Outputs get the
    same symbolic first axis when every input has one, as the zoo's outputs do."""
    import warnings

    import torch

    tensors = tuple(torch.from_numpy(a) for a in example_inputs)
    dynamic = dynamic if dynamic is not None else [{0: "batch"} for _ in example_inputs]
    input_names = [t.name for t in spec.inputs]
    output_names = [t.name for t in spec.outputs]
    dynamic_axes = {name: dict(axes) for name, axes in zip(input_names, dynamic) if axes}
    if all(axes.get(0) == "batch" for axes in dynamic):
        dynamic_axes.update({name: {0: "batch"} for name in output_names})
    with warnings.catch_warnings():
        # torch >= 2.9 warns that this exporter is deprecated; the export record says so once (its note).
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*dynamo=False.*")
        torch.onnx.export(model, tensors, str(path), dynamo=False, opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True,
                          external_data=False)
    return []
