"""The time of an explained effect per node of the exported graph, and Model Explorer node-data files of it.

A profiled node of the optimized graph computes one or more exported nodes (graph_map.origins: a fusion covers
several); its time — scaled as the attribution scales it, so the nodes add up to the node share of the latency —
is shared evenly among them. A node the optimizer added (a layout reorder, a copy) computes no exported node:
its time is the attribution's "added" rows, not a node of the exported graph. Values are keyed by each exported
node's first output tensor name, the key Model Explorer matches (graph/node_data.py).

One graph on both sides (an optimizer or a runtime effect): one file of the difference, candidate minus
baseline, µs per node. Two graphs (an exporter or a precision effect): one file per side, its µs per node.
"""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.profiles import GraphProfile


def exported_node_times(profile: GraphProfile, origins: dict[str, list[str]], scale: float) -> dict[str, float]:
    """Exported node's output tensor -> µs. `origins`: profiled node name -> the output tensors of the exported
    nodes it computes."""
    found: dict[str, float] = {}
    for node in profile.nodes:
        covered = origins.get(node.name, [])
        if node.nested or not covered:
            continue
        for tensor in covered:
            found[tensor] = found.get(tensor, 0.0) + node.median_us * scale / len(covered)
    return {tensor: round(us, 3) for tensor, us in found.items()}


def difference_thresholds(values: list[float]) -> list[dict]:
    """Colours centred on zero (Model Explorer's gradient spans min..max, which would not be): blue where the
    candidate is faster, white within 2 % of the largest change, red where it is slower."""
    largest = max((abs(v) for v in values), default=0.0) or 1.0
    steps = [(-largest / 2, "#2b83ba"), (-largest * 0.02, "#abd9e9"), (largest * 0.02, "#ffffff"),
             (largest / 2, "#fdae61"), (largest, "#d7191c")]
    return [{"value": round(value, 3), "bgColor": colour} for value, colour in steps]


def write_node_data(explanation: dict, directory: Path, stem: str) -> dict | None:
    """The node-data files of one explanation (its `node_times`) in `directory`, named from `stem`, and the
    commands that open them; None when it has no per-node times (a runtime outside ONNX Runtime's vocabulary)."""
    from aibench_onnx.graph.node_data import HEAT_GRADIENT, graph_node_data, open_command, write
    from aibench_onnx.report.why_view import node_time_difference

    sides = explanation.get("node_times") or {}
    if len(sides) != 2:
        return None
    (base_label, base), (cand_label, cand) = sides.items()
    if base["graph"] == cand["graph"]:
        difference = node_time_difference(base, cand)
        document = graph_node_data(f"µs {cand_label} − {base_label}", difference,
                                   thresholds=difference_thresholds(list(difference.values())))
        path = write(directory / f"{stem}-difference.json", document)
        return {"files": [path], "open": [open_command(base["graph"], [path])]}
    files, commands = [], []
    for side, (label, found) in zip(("baseline", "candidate"), sides.items()):
        path = write(directory / f"{stem}-{side}.json", graph_node_data(f"µs {label}", found["us"], HEAT_GRADIENT))
        files.append(path)
        commands.append(open_command(found["graph"], [path]))
    return {"files": files, "open": commands}
