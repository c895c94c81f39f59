"""Small, explicit edits of ONNX graphs (renaming graph inputs and outputs)."""

from __future__ import annotations


def rename_graph_io(model, input_names: list[str], output_names: list[str]) -> None:
    """Rename graph inputs/outputs, in order, everywhere they are referenced."""
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    real_inputs = [value for value in graph.input if value.name not in initializers]
    mapping = {}
    for value, new in zip(real_inputs, input_names):
        mapping[value.name] = new
    for value, new in zip(graph.output, output_names):
        mapping[value.name] = new
    if len(real_inputs) != len(input_names) or len(graph.output) != len(output_names):
        raise ValueError(f"graph has {len(real_inputs)} inputs / {len(graph.output)} outputs, "
                         f"expected {len(input_names)} / {len(output_names)}")
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = mapping.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def name_dynamic_axes(model, axes: dict[str, dict[int, str]]) -> None:
    """Give the graph inputs' dynamic axes the names the user declared (an exporter writes s0, unk__12, ...),
    and rename the same symbol wherever else it appears (outputs, value_info)."""
    renamed: dict[str, str] = {}
    for value in model.graph.input:
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            wanted = axes.get(value.name, {}).get(axis)
            if wanted and dim.dim_param and dim.dim_param != wanted:
                renamed.setdefault(dim.dim_param, wanted)
    for value in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in renamed:
                dim.dim_param = renamed[dim.dim_param]


def fixed_axes(model, axes: dict[str, dict[int, str]]) -> list[str]:
    """Declared-dynamic axes that came out as fixed sizes in the graph: the exporter specialised them, and
    the graph will refuse every other size (a silent specialisation: pytorch #152018, #151582)."""
    fixed = []
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        for axis, name in sorted(axes.get(value.name, {}).items()):
            if axis < len(dims) and dims[axis].HasField("dim_value"):
                fixed.append(f"{value.name}[{axis}] ({name}) fixed to {dims[axis].dim_value}")
    return fixed
