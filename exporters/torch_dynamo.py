"""PyTorch -> ONNX with torch.onnx.export(dynamo=True): torch.export, then onnxscript translation."""

from __future__ import annotations

from importlib import metadata


def exporter_info() -> tuple[str, str]:
    return "torch.onnx (dynamo)", metadata.version("torch")


def export(model, spec, dims, example_inputs, path, opset: int, dynamic: list[dict[int, str]] | None = None) -> list[str]:
    """`dynamic`: per input, the axes to keep symbolic (a user's model). torch decides their ranges itself
    (Dim.AUTO): an axis the model's code pins to one size comes out fixed instead of failing the export, and
    the export record says so (frameworks/user_model.py). None: the zoo's batch axis, declared Dim("batch")."""
    program = export_program(model, example_inputs, [t.name for t in spec.inputs], [t.name for t in spec.outputs],
                             opset, dynamic)
    pinned = _pinned_axes(program.exported_program) if dynamic is not None else {}
    program.save(str(path), external_data=False)
    if pinned:
        _write_fixed_sizes(path, pinned)
    return []


def export_program(model, example_inputs, input_names: list[str], output_names: list[str], opset: int,
                   dynamic: list[dict[int, str]] | None = None):
    """torch.onnx's ONNXProgram: the ONNX model beside the exported program it was translated from."""
    import inspect

    import torch

    tensors = tuple(torch.from_numpy(a) for a in example_inputs)
    if dynamic is None:
        batch = torch.export.Dim("batch", min=1, max=65536)
        dynamic_shapes = tuple({0: batch} for _ in tensors)  # every zoo input carries the batch first
    else:
        dynamic_shapes = tuple({axis: torch.export.Dim.AUTO for axis in axes} for axes in dynamic)
    parameters = list(inspect.signature(model.forward).parameters.values())
    variadic = [index for index, p in enumerate(parameters) if p.kind == p.VAR_POSITIONAL]
    if variadic:  # forward(a, b, *rest): `rest` is one parameter holding the remaining inputs
        dynamic_shapes = (*dynamic_shapes[:variadic[0]], tuple(dynamic_shapes[variadic[0]:]))
    return torch.onnx.export(
        model, tensors, dynamo=True, opset_version=opset, dynamic_shapes=dynamic_shapes,
        input_names=input_names, output_names=output_names, external_data=False, optimize=True, verbose=False,
    )


def program_divergence(program, arrays: list, atol: float, rtol: float, capture_dir: str | None = None) -> dict:
    """The first node of the exported program, in execution order, whose value in the ONNX graph differs from
    the value PyTorch computes for it on `arrays` (outside atol + rtol·|value|; NaN equal to NaN). Values are
    matched by node name, as torch.onnx.verification's intermediate comparison matches them, but every ONNX
    value comes from one ONNX Runtime CPU session (optimizations off) instead of one session per node.
    `capture_dir`: keep what a reproduction needs there — the ONNX graph (`model.onnx`) and PyTorch's values of the
    graph's inputs and of the nodes up to the diverging one, nearest first, by ONNX value name (`values.npz`)."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import torch

    from aibench_onnx.ort.session import create_session

    computed: dict = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node):
            value = super().run_node(node)
            if node.op == "call_function" and isinstance(value, torch.Tensor):
                computed[node.name] = (node, value.detach().numpy())
            return value

    with torch.no_grad():
        Recorder(program.exported_program.module()).run(*[torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
    graph = program.model.graph
    values = {value.name: value for node in graph for value in node.outputs}
    compared = [name for name in computed if name in values]
    outputs = list(graph.outputs)
    graph.outputs.extend(values[name] for name in compared if values[name] not in outputs)
    try:
        proto = program.model_proto  # serialized with the intermediate values as outputs
    finally:
        graph.outputs.clear()
        graph.outputs.extend(outputs)
    with tempfile.TemporaryDirectory(prefix="aibench-divergence-") as tmp:
        path = Path(tmp) / "with_intermediates.onnx"
        path.write_bytes(proto.SerializeToString())
        session, _ = create_session(str(path), "cpu", "disabled", 1)
        found = session.run(compared, {value.name: a for value, a in zip(session.get_inputs(), arrays)})
    for position, (name, actual) in enumerate(zip(compared, found)):
        node, expected = computed[name]
        if expected.shape == actual.shape and np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
            continue
        same_shape = expected.shape == actual.shape
        difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64)) if same_shape else None
        found = {"found": True, "node": name, "target": str(node.target), "source": _source_line(node),
                 "max_abs": float(np.nanmax(difference)) if difference is not None and difference.size else None,
                 "shapes": None if same_shape else [list(expected.shape), list(actual.shape)],
                 "position": position + 1, "compared": len(compared)}
        if capture_dir is not None:
            found["capture"] = _capture(program, compared[:position + 1], computed, arrays, Path(capture_dir))
        return found
    return {"found": False, "compared": len(compared)}


CAPTURE_BYTES = 64 * 2**20  # PyTorch values kept for a reproduction, nearest the diverging node first


def _capture(program, names: list[str], computed: dict, arrays: list, directory) -> dict:
    """The graph and PyTorch's values a reproduction of an export difference is built from: the graph's inputs
    and the values of the exported program's nodes up to the diverging one (`names`, execution order; the last
    is the diverging node), nearest first within CAPTURE_BYTES — so the reproduction can start from the nearest
    PyTorch values rather than the graph's inputs."""
    import numpy as np

    directory.mkdir(parents=True, exist_ok=True)
    proto = program.model_proto
    inputs = [value.name for value in proto.graph.input][:len(arrays)]
    values = {name: np.asarray(array) for name, array in zip(inputs, arrays)}
    budget = CAPTURE_BYTES
    for name in reversed(names):
        value = computed[name][1]
        if value.nbytes > budget and name != names[-1]:
            break
        values[name], budget = value, budget - value.nbytes
    (directory / "model.onnx").write_bytes(proto.SerializeToString())
    np.savez(directory / "values.npz", **values)
    return {"model": str(directory / "model.onnx"), "values": str(directory / "values.npz"), "inputs": inputs}


def _source_line(node) -> str | None:
    """`modeling_x.py:123 in forward: attn = ...`: the user's line that produced an exported node."""
    import re

    trace = (node.meta.get("stack_trace") or "").strip().splitlines()
    for index in range(len(trace) - 1, -1, -1):
        found = re.match(r'\s*File "(.+)", line (\d+), in (\S+)', trace[index])
        if found:
            code = trace[index + 1].strip() if index + 1 < len(trace) else ""
            return f"{found[1].rsplit('/', 1)[-1]}:{found[2]} in {found[3]}" + (f": {code}" if code else "")
    return None


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
