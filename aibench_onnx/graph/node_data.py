"""The per-node picture: Model Explorer node-data files (its `node_data_builder` GraphNodeData format) that
colour an ONNX graph's nodes by a value — the parity error each node's output carries (parity/node_data.py), the
nodes a precision repair kept in fp32, the time an explained effect moved to or from each node
(explain/node_time.py).

A file is `{"name", "results": {KEY: {"value": V}}, "gradient" | "thresholds": [...]}`. A KEY is one of the
node's output tensor names, which Model Explorer matches against each node's outputs whatever the adapter
calls the node, so one file serves the ONNX adapter and any other that records tensor names.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

# white (none) to red (the largest error, the most time): Model Explorer interpolates between the stops
HEAT_GRADIENT = [{"stop": 0, "bgColor": "#ffffff"}, {"stop": 0.5, "bgColor": "#fdae61"},
                 {"stop": 1, "bgColor": "#d7191c"}]
OPEN_WITH = "model-explorer {model} --extensions=model_explorer_onnx --node_data_paths={paths}"


def graph_node_data(name: str, values: dict[str, float], gradient: list[dict] | None = None,
                    thresholds: list[dict] | None = None) -> dict:
    """A GraphNodeData document: `values` by output tensor name (non-finite values left out: JSON has none)."""
    document: dict = {"name": name, "results": {key: {"value": float(value)} for key, value in values.items()
                                                if value is not None and math.isfinite(value)}}
    if gradient:
        document["gradient"] = gradient
    if thresholds:
        document["thresholds"] = thresholds
    return document


def write(path: Path, document: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1))
    return str(path)


def kept_nodes(model, names: list[str]) -> dict[str, float]:
    """1 on the first output of each named node (a repair's fp32 nodes), by output tensor name."""
    wanted = set(names)
    return {node.output[0]: 1.0 for node in model.graph.node if node.name in wanted and node.output}


def open_command(model_path: str, paths: list[str]) -> str:
    """The command that opens `model_path` in Model Explorer with these node-data files (the ONNX adapter is
    `pip install model-explorer-onnx`)."""
    return OPEN_WITH.format(model=model_path, paths=",".join(paths))
