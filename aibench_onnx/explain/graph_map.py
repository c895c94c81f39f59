"""Where each node of a graph came from, and what the graph optimizer did to it.

Source: torch.onnx (dynamo) writes the module path and class into each node's `metadata_props`
(`pkg.torch.onnx.name_scopes`, `pkg.torch.onnx.class_hierarchy`); torch.onnx's TorchScript exporter and
tf2onnx name nodes after the module path (`/layers.0/attn/MatMul`, `model/dense/MatMul`); jax2onnx records
none (its nodes are `node_Gemm_26`): there the operator type is all there is.

Optimizer: the graph ONNX Runtime ran (written at its level) against the exported one. A node of the optimized
graph that computes tensors the exported graph computed with other nodes replaced those nodes (the nodes
between its inputs and outputs that no longer exist): a fusion, e.g. Div+Erf+Add+Mul+Mul -> Gelu. Nodes that
replaced nothing were added (layout reorders, copies); exported nodes no optimized node accounts for were
removed (folded into constants, eliminated).
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import asdict, dataclass, field

NO_SOURCE = "(no source recorded)"


def with_node_names(model):
    """`model` with every unnamed node named as ONNX Runtime names it when it loads the graph (OpType_index),
    so the graph's nodes and the profile's match (exporters name their nodes; hand-made graphs may not)."""
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    return model


def node_sources(model) -> dict[str, str]:
    """Node name -> the module it came from (`layers.0.attn (MultiHeadAttention)`), or NO_SOURCE."""
    return {node.name: _source(node) for node in model.graph.node}


def _source(node) -> str:
    props = {prop.key: prop.value for prop in node.metadata_props}
    scopes = _parsed_list(props.get("pkg.torch.onnx.name_scopes"))
    if scopes:
        classes = _parsed_list(props.get("pkg.torch.onnx.class_hierarchy"))
        # the last scope is the aten op itself; torch's own hooks name scopes `_...`: not the user's modules
        module = next((s for s in reversed(scopes[:-1]) if s and not s.startswith("_")), "")
        kind = classes[-2].rsplit(".", 1)[-1] if len(classes) >= 2 and module else ""
        return f"{module} ({kind})" if module and kind else module or "(model)"
    if "/" in node.name.strip("/"):
        return node.name.strip("/").rsplit("/", 1)[0]
    return NO_SOURCE


def _parsed_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def origins(original, optimized) -> dict[str, list[str]]:
    """Optimized node name -> the exported nodes it computes (itself when it was kept)."""
    producer = {out: node for node in original.graph.node for out in node.output if out}
    exported_names = {node.name for node in original.graph.node}
    # tensors that exist in the optimized graph bound every walk: the nodes behind them are accounted for
    existing = {out for node in optimized.graph.node for out in node.output if out}
    existing |= {v.name for v in optimized.graph.input} | {i.name for i in optimized.graph.initializer}
    found = {}
    for node in optimized.graph.node:
        inputs, covered, stack = set(node.input), [], [out for out in node.output if out in producer]
        seen: set[str] = set()
        while stack:
            tensor = stack.pop()
            source = producer.get(tensor)
            if source is None or source.name in seen:
                continue
            seen.add(source.name)
            covered.append(source.name)
            stack += [t for t in source.input if t and t not in inputs and t not in existing]
        if not covered and node.name in exported_names:
            covered = [node.name]
        found[node.name] = covered
    return found


@dataclass
class Fusion:
    pattern: str  # `Div+Erf+Add+Mul+Mul -> Gelu`
    count: int
    nodes: list[str] = field(default_factory=list)  # the optimized nodes (the first few)


@dataclass
class FusionLedger:
    """What the optimizer did to one graph at one level."""

    level: str
    exported_nodes: int
    optimized_nodes: int
    fusions: list[Fusion]
    added: dict[str, int]  # op type -> nodes that replaced nothing (layout reorders, copies, casts)
    removed: dict[str, int]  # op type -> exported nodes no optimized node accounts for (folded, eliminated)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        found = [f"{f.pattern} ×{f.count}" for f in self.fusions]
        found += [f"added {op} ×{n}" for op, n in self.added.items()]
        found += [f"removed {op} ×{n}" for op, n in self.removed.items()]
        return found or ["no change"]


def fusion_ledger(original, optimized, level: str) -> FusionLedger:
    kinds = {node.name: _op(node) for node in original.graph.node}
    mapping = origins(original, optimized)
    patterns: dict[str, list[str]] = {}
    added: Counter = Counter()
    for node in optimized.graph.node:
        covered = mapping.get(node.name, [])
        if not covered:
            added[_op(node)] += 1
        elif len(covered) > 1 or kinds.get(covered[0]) != _op(node):  # one node of the same type: kept
            order = {name: index for index, name in enumerate(kinds)}
            replaced = "+".join(kinds[name] for name in sorted(covered, key=lambda n: order.get(n, 0)))
            patterns.setdefault(f"{replaced} -> {_op(node)}", []).append(node.name)
    accounted = {name for covered in mapping.values() for name in covered}
    removed = Counter(kinds[name] for name in kinds if name not in accounted)
    fusions = sorted((Fusion(pattern, len(nodes), nodes[:5]) for pattern, nodes in patterns.items()),
                     key=lambda f: (-f.count, f.pattern))
    return FusionLedger(level, len(original.graph.node), len(optimized.graph.node), fusions, dict(added.most_common()),
                        dict(removed.most_common()))


def _op(node) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.op_type} ({node.domain})"


def optimized_sources(original, optimized) -> dict[str, str]:
    """Optimized node name -> the source of the exported nodes it computes (the most frequent), or what the
    optimizer added it as."""
    sources, mapping = node_sources(original), origins(original, optimized)
    found = {}
    for node in optimized.graph.node:
        covered = [sources[name] for name in mapping.get(node.name, []) if name in sources]
        found[node.name] = (Counter(covered).most_common(1)[0][0] if covered
                            else f"(added by the optimizer: {node.op_type})")
    return found
