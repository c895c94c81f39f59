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
    pinned = _pinned_axes(program.exported_program) if dynamic is not None else {}
    program.save(str(path), external_data=False)
    if pinned:
        _write_fixed_sizes(path, pinned)
    return []


def _pinned_axes(exported_program) -> dict[tuple[int, int], int]:
    """(input index, axis) -> size for the axes torch.export kept symbolic but specialised to one size (range
    [8, 8]: the model's code needs that size). The ONNX graph still names them, as if any size worked."""
    import torch

    user_inputs = [spec.arg.name for spec in exported_program.graph_signature.input_specs
                   if spec.kind.name == "USER_INPUT"]
    values = {node.name: node.meta.get("val") for node in exported_program.graph.nodes if node.op == "placeholder"}
    pinned = {}
    for index, name in enumerate(user_inputs):
        for axis, size in enumerate(getattr(values.get(name), "shape", ())):
            if isinstance(size, torch.SymInt):
                bounds = exported_program.range_constraints.get(size.node.expr)
                if bounds is not None and bounds.lower == bounds.upper:
                    pinned[(index, axis)] = int(bounds.lower)
    return pinned


def _write_fixed_sizes(path, pinned: dict[tuple[int, int], int]) -> None:
    """Say the specialised sizes in the graph, so ONNX Runtime refuses other sizes with a clear message and the
    export record lists them (graph.edit.fixed_axes)."""
    import onnx

    model = onnx.load(str(path))
    initializers = {init.name for init in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initializers]
    for (index, axis), size in pinned.items():
        inputs[index].type.tensor_type.shape.dim[axis].dim_value = size
    onnx.save(model, str(path))
