"""The parent's side of a user's framework model: build, run and export it in the framework's own process
(workers/user_model.py -> frameworks/user_model.py), as check, bench and run all need."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.errors import UserError
from aibench_onnx.status import Status


def export_in_worker(user, out_dir: Path, opset: int, timeout_s: float = 1800,
                     precisions: tuple[str, ...] = ()) -> dict:
    """Build, run and export the user's model in its framework's process; the export record (with
    `test_data`: the reference sets written; with reduced `precisions`, the framework's own reduced runs and
    int8-static's calibration sets too). A user's mistake is a UserError (exit 2); a model that fails to
    run or export is a record with status failed."""
    from aibench_onnx.frameworks.user_model import USER_ERROR
    from aibench_onnx.workers import run_worker

    out_dir.mkdir(parents=True, exist_ok=True)
    request = {"user": user.to_dict(), "out_dir": str(out_dir), "opset": opset, "precisions": list(precisions)}
    outcome = run_worker("aibench_onnx.workers.user_model", request, timeout_s, out_dir / "user_model_request.json")
    document = outcome.document
    if outcome.died:
        return {"status": outcome.status, "reason": f"the model's process died: {outcome.reason}"}
    if document.get("status") == USER_ERROR:
        raise UserError(document["reason"])
    if not outcome.ok:
        return {"status": Status.FAILED, "reason": document.get("reason", outcome.reason)}
    record = document["export"]
    record["test_data"] = [str(p) for p in sorted(out_dir.glob("test_data_set_*"))]
    return record


def export_or_failure(user, out_dir: Path, opset: int, timeout_s: float = 1800,
                      precisions: tuple[str, ...] = ()) -> dict:
    """export_in_worker for a run, where a factory or input the user got wrong fails that job with its one
    line (a failed record) while the run goes on."""
    try:
        return export_in_worker(user, out_dir, opset, timeout_s, precisions)
    except UserError as exc:
        return {"status": Status.FAILED, "reason": str(exc)}
