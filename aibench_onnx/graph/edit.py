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
