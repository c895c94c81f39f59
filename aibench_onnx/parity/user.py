"""A user's model in `aibench run`: its export (in the framework's process) checked by ONNX Runtime on every
provider x level against its native outputs — the check command's comparison — and stated as the run's parity
cells, so report and compare treat it as they treat a zoo model. ORT runs in a worker of its own."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.parity.export_difference import locate_export_difference
from aibench_onnx.parity.zoo import ExportParity
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32


def user_parity(request: dict) -> dict:
    """The worker's job: request = model, size, framework, export (the record), eps, opt_levels, threads,
    precisions (the export and its reduced-precision variants, as `check --precision` judges them), error_stats,
    repro_dir (a reproduction bundle per failing fp32 ORT cell there, as `check --repro` writes them)."""
    from aibench_onnx.parity.check import check_onnx

    record = request["export"]
    precisions = tuple(request.get("precisions", [FP32]))
    common = (request["model"], request["size"], request["framework"], record.get("exporter", ""))
    if record["status"] != Status.OK:
        cells = [ParityCell(*common, ep, level, Status.EXPORT_FAILED, record.get("reason", ""), precision=precision)
                 for precision in precisions for ep in request["eps"] for level in request["opt_levels"]]
        return {"status": Status.OK, "result": ExportParity(*common[:3], record, cells).to_dict()}
    checked = check_onnx(record["path"], record["test_data"], request["eps"], request["opt_levels"],
                         threads=request["threads"], precisions=precisions,
                         variants_dir=str(Path(record["path"]).parent / "variants"),
                         calibration_files=record.get("calibration_files"), calibration_note=record.get("calibration", ""),
                         native_reduced=record.get("reduced"), error_stats=request.get("error_stats"),
                         reference_is_model=True, runtimes=tuple(request.get("graph_runtimes", [REFERENCE])),
                         subject=common, repro_dir=request.get("repro_dir"))
    for cell in checked.cells:  # the check's cells: named after the user's model, blame assigned
        if cell.divergence and cell.divergence.get("found"):
            cell.reason += f"; first diverging node: {cell.divergence['node']} ({cell.divergence['op_type']})"
        cell.cases = {f"set{i}": {"passed": i not in cell.failing_sets} for i in range(checked.input_sets)}
    if request.get("user") is not None:
        locate_export_difference(request["user"], record, checked.cells, request.get("opset", 18),
                                 request.get("timeout_s", 600), request.get("repro_dir"))
    return {"status": Status.OK,
            "result": ExportParity(*common[:3], record, checked.cells, checked.variants).to_dict()}

