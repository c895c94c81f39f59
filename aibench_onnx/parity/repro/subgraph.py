"""A subgraph of an ONNX model as a model of its own: some of its nodes (by index, in topological order),
the tensors those nodes read from outside the set as inputs, the chosen tensors as outputs, the initializers
and local functions they use — what a reproduction ships instead of the whole graph."""

from __future__ import annotations

from typing import Iterable

import numpy as np


def producers(model) -> dict[str, int]:
    """tensor name -> index of the node that produces it."""
    return {output: index for index, node in enumerate(model.graph.node) for output in node.output if output}


def _read(node) -> list[str]:
    """Every tensor a node reads, including names its subgraphs (If/Loop/Scan bodies) take from outer scopes."""
    names = [name for name in node.input if name]
    for attribute in node.attribute:
        for body in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
            local = {i.name for i in body.input} | {t.name for t in body.initializer}
            for inner in body.node:
                local |= set(inner.output)
                names += [name for name in _read(inner) if name not in local]
    return names


def ancestors(model, index: int) -> list[int]:
    """Indices of the nodes `index` depends on (transitively), in topological order."""
    made_by = producers(model)
    seen, stack = set(), [index]
    while stack:
        for name in _read(model.graph.node[stack.pop()]):
            parent = made_by.get(name)
            if parent is not None and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen)


def boundary_inputs(model, nodes: Iterable[int]) -> list[str]:
    """The tensors the kept `nodes` read that none of them produces and that are not initializers: graph
    inputs, or values of nodes left out (the reproduction feeds them), in first-read order."""
    kept = sorted(set(nodes))
    produced = {name for i in kept for name in model.graph.node[i].output}
    constants = {t.name for t in model.graph.initializer}
    found: list[str] = []
    for i in kept:
        for name in _read(model.graph.node[i]):
            if name not in produced and name not in constants and name not in found:
                found.append(name)
    return found


def needed_nodes(model, nodes: Iterable[int], outputs: list[str]) -> list[int]:
    """The kept nodes the `outputs` depend on within the set (a node whose result nothing kept reads is dead)."""
    kept = set(nodes)
    made_by = {name: i for name, i in producers(model).items() if i in kept}
    needed, stack = set(), [made_by[name] for name in outputs if name in made_by]
    while stack:
        index = stack.pop()
        if index in needed:
            continue
        needed.add(index)
        stack += [made_by[name] for name in _read(model.graph.node[index]) if name in made_by]
    return sorted(needed)


def _value_info(name: str, value: np.ndarray | None, known: dict):
    """A graph input/output declaration: from a captured value (its exact type and shape), else as the full
    model declared or inferred it."""
    from onnx import helper

    if value is not None:
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype), list(value.shape))
    declared = known.get(name)
    if declared is not None:
        return declared
    raise ValueError(f"tensor {name!r} has no known type: it cannot be a subgraph input or output")


def known_values(model) -> dict:
    """tensor name -> ValueInfoProto for every declared or shape-inferred tensor of `model`."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - a graph shape inference rejects keeps its own declarations
        inferred = model
    values = list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
    return {value.name: value for value in values}


def extract(model, nodes: Iterable[int], outputs: list[str], values: dict[str, np.ndarray] | None = None,
            known: dict | None = None, keep_value_info: bool = False):
    """A model of the kept `nodes` computing `outputs`: boundary tensors become inputs (typed and shaped by
    their captured `values` where given), only the initializers and functions the nodes use come along, the
    opsets and IR version are the full model's. `keep_value_info`: carry the full model's value_info for the
    tensors inside (a graph a runtime refuses because of them still refuses)."""
    from onnx import helper

    values = values or {}
    known = known if known is not None else known_values(model)
    kept = needed_nodes(model, nodes, outputs)
    node_protos = [model.graph.node[i] for i in kept]
    inputs = boundary_inputs(model, kept)
    read = {name for i in kept for name in _read(model.graph.node[i])}
    initializers = [t for t in model.graph.initializer if t.name in read]
    sparse = [t for t in model.graph.sparse_initializer if t.values.name in read]
    inside = {name for node in node_protos for name in node.output} - set(outputs)
    value_info = [v for v in model.graph.value_info if v.name in inside] if keep_value_info else []
    graph = helper.make_graph(node_protos, f"{model.graph.name or 'graph'}_subgraph",
                              [_value_info(name, values.get(name), known) for name in inputs],
                              [_value_info(name, values.get(name), known) for name in outputs],
                              initializer=initializers, value_info=value_info, sparse_initializer=sparse)
    used_domains = {node.domain for node in node_protos}
    functions = [f for f in model.functions if f.domain in used_domains]
    sub = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version,
                            functions=functions)
    sub.producer_name = "aibench-onnx repro"
    return sub
