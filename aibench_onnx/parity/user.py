"""A user's model in `aibench run`: its export (in the framework's process) checked by ONNX Runtime on every
provider x level against its native outputs — the check command's comparison — and stated as the run's parity
cells, so report and compare treat it as they treat a zoo model. ORT runs in a worker of its own."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from aibench_onnx.jsonio import known_fields
from aibench_onnx.parity.cell import ExportParity, ParityCell
from aibench_onnx.parity.check import CheckResult, check_onnx
from aibench_onnx.parity.export_difference import locate_export_difference
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32


@dataclass(frozen=True)
class UserParityRequest:
    """What the worker user_parity checks: a user's model's export (its record) on every provider x level, in each
    precision (the export and its reduced-precision variants, as `check --precision` judges them)."""

    model: str
    size: str
    framework: str
    export: dict  # the export record (artifacts/user_export.py): the graph, its test data, the native reduced runs
    eps: tuple[str, ...]
    opt_levels: tuple[str, ...]
    threads: int
    precisions: tuple[str, ...] = (FP32,)
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic
    graph_runtimes: tuple[str, ...] = (REFERENCE,)
    user: dict | None = None  # the user's model (UserModel.to_dict()): an export difference is localized in it
    opset: int = 18
    timeout_s: float = 600.0
    repro_dir: str | None = None  # a reproduction bundle per failing fp32 ORT cell there, as `check --repro`

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> UserParityRequest:
        tuples = ("eps", "opt_levels", "precisions", "graph_runtimes")
        return cls(**{k: tuple(v) if k in tuples else v for k, v in known_fields(cls, data).items()})


def check_export(record: dict, eps: list[str] | None, opt_levels: list[str] | None, *,
                 subject: tuple[str, str, str, str], user: dict | None, opset: int, test_data: list[str] = (),
                 timeout_s: float = 600.0, repro_dir: str | None = None, variants_beside_graph: bool = True,
                 **options) -> CheckResult:
    """A user's model's export checked against its native outputs: the one comparison of `check`, of a run's
    user models (user_parity) and of the API's `check`. The graph runtimes on every provider x level, fed the
    export's test data (plus `test_data`); reduced precisions (`options["precisions"]`) as variants beside the
    graph (else in a folder of their own: `variants_beside_graph` False, a graph in a folder about to go), judged
    against the framework's own reduced runs the export recorded; then, where the runtimes agree on
    a difference from the native model, the difference localized in the user's model (`user`, a UserModel's
    dict; None: a live object that cannot be rebuilt in a worker). `options` go to check_onnx."""
    checked = check_onnx(record["path"], record["test_data"] + list(test_data), eps, opt_levels,
                         variants_dir=str(Path(record["path"]).parent / "variants") if variants_beside_graph else None,
                         calibration_files=record.get("calibration_files"),
                         calibration_note=record.get("calibration", ""), native_reduced=record.get("reduced"),
                         reference_is_model=True, subject=subject, repro_dir=repro_dir, **options)
    if user is not None:
        locate_export_difference(user, record, checked.cells, opset, timeout_s, repro_dir)
    return checked


def user_parity(document: dict) -> dict:
    """The worker's job: a UserParityRequest's check, stated as the run's parity cells."""
    request = UserParityRequest.from_dict(document)
    record = request.export
    common = (request.model, request.size, request.framework, record.get("exporter", ""))
    if record["status"] != Status.OK:
        cells = [ParityCell(*common, ep, level, Status.EXPORT_FAILED, record.get("reason", ""), precision=precision)
                 for precision in request.precisions for ep in request.eps for level in request.opt_levels]
        return {"status": Status.OK, "result": ExportParity(*common[:3], record, cells).to_dict()}
    checked = check_export(record, list(request.eps), list(request.opt_levels), subject=common, user=request.user,
                           opset=request.opset, timeout_s=request.timeout_s, repro_dir=request.repro_dir,
                           threads=request.threads, precisions=request.precisions, error_stats=request.error_stats,
                           runtimes=request.graph_runtimes)
    for cell in checked.cells:  # the check's cells: named after the user's model, blame assigned
        if cell.divergence and cell.divergence.get("found"):
            cell.reason += f"; first diverging node: {cell.divergence['node']} ({cell.divergence['op_type']})"
        cell.cases = {f"set{i}": {"passed": i not in cell.failing_sets} for i in range(checked.input_sets)}
    return {"status": Status.OK,
            "result": ExportParity(*common[:3], record, checked.cells, checked.variants).to_dict()}
