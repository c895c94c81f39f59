"""A torch model whose dynamo graph ONNX Runtime computes consistently, node by node, but which computes
something other than the model: an export difference. Where it enters: the first node of the exported
program whose ONNX value differs from PyTorch's (artifacts.user_export.export_difference, in a torch process
of its own). Used by `aibench check --framework torch` and by a run's parity of a user's torch model."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.artifacts.user_export import ExportDifferenceRequest
from aibench_onnx.frameworks.user_model import UserModel
from aibench_onnx.launch import run_worker
from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.zoo.tolerance import Tolerance


def locate_export_difference(user: dict, record: dict, cells: list[ParityCell], opset: int,
                             timeout_s: float = 600, repro_dir: str | None = None) -> None:
    """For the cells the check found to be an export difference (fp32, ORT agreeing with its unoptimized run):
    localize once (the graph is the same for all) and add where it lies to each cell's divergence and reason.
    Only for the dynamo exporter's graphs: they carry the exported program the values are matched against.
    `repro_dir`: also a reproduction of the diverging node's translation, fed with PyTorch's own values."""
    differing = [c for c in cells if c.divergence and c.divergence.get("export_difference") and c.outputs]
    if not differing or record.get("graph_name") != "torch":
        return
    first = differing[0]
    failing_set = first.failing_sets[0] if first.failing_sets else 0
    row = next(o for o in first.outputs if not o.passed)
    capture = str(Path(record["path"]).parent / "export_difference") if repro_dir else None
    request = ExportDifferenceRequest(UserModel(**user), record["test_data"][failing_set], row.atol, row.rtol, opset,
                                      record.get("output_names"), capture)
    outcome = run_worker("export_difference", request, timeout_s, Path(record["path"]).parent / "export_difference_request.json")
    found = outcome.document.get("divergence") if outcome.ok else {"found": False, "reason": outcome.reason}
    repro = None
    if repro_dir and found.get("capture"):
        from aibench_onnx.parity.repro.for_export import reproduce_export_difference

        repro = reproduce_export_difference(found, user.get("name", "model"), Tolerance(row.rtol, row.atol),
                                            Path(repro_dir))
    for cell in differing:
        cell.divergence["exported_program"] = found
        if found.get("found"):
            cell.reason += "; " + describe(found)
        if repro is not None:
            cell.repro = repro


def describe(found: dict) -> str:
    where = f" at {found['source']}" if found.get("source") else ""
    size = (f", max abs {found['max_abs']:.3g}" if found.get("max_abs") is not None
            else f", shape {found['shapes'][0]} vs {found['shapes'][1]}" if found.get("shapes") else "")
    return f"first node that differs from PyTorch: {found['node']} ({found['target']}){where}{size}"
