"""A torch model whose dynamo graph ONNX Runtime computes consistently, node by node, but which computes
something other than the model: an export difference. Where it enters: the first node of the exported
program whose ONNX value differs from PyTorch's (artifacts.user_export.export_difference, in a torch process
of its own). Used by `aibench check --framework torch` and by a run's parity of a user's torch model."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.launch import run_worker
from aibench_onnx.parity.cell import ParityCell


def locate_export_difference(user: dict, record: dict, cells: list[ParityCell], opset: int,
                             timeout_s: float = 600) -> None:
    """For the cells the check found to be an export difference (fp32, ORT agreeing with its unoptimized run):
    localize once (the graph is the same for all) and add where it lies to each cell's divergence and reason.
    Only for the dynamo exporter's graphs: they carry the exported program the values are matched against."""
    differing = [c for c in cells if c.divergence and c.divergence.get("export_difference") and c.outputs]
    if not differing or record.get("graph_name") != "torch":
        return
    first = differing[0]
    failing_set = first.failing_sets[0] if first.failing_sets else 0
    row = next(o for o in first.outputs if not o.passed)
    outcome = run_worker("export_difference",
                         {"user": user, "test_data": record["test_data"][failing_set], "atol": row.atol,
                          "rtol": row.rtol, "opset": opset, "output_names": record.get("output_names")},
                         timeout_s, Path(record["path"]).parent / "export_difference_request.json")
    found = outcome.document.get("divergence") if outcome.ok else {"found": False, "reason": outcome.reason}
    for cell in differing:
        cell.divergence["exported_program"] = found
        if found.get("found"):
            cell.reason += "; " + describe(found)


def describe(found: dict) -> str:
    where = f" at {found['source']}" if found.get("source") else ""
    size = (f", max abs {found['max_abs']:.3g}" if found.get("max_abs") is not None
            else f", shape {found['shapes'][0]} vs {found['shapes'][1]}" if found.get("shapes") else "")
    return f"first node that differs from PyTorch: {found['node']} ({found['target']}){where}{size}"
