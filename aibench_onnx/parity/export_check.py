"""A framework model's export checked against the model's own outputs: the one "export, then check" of
`check --framework`, the Python API's `check`, a run's users' models and the zoo's models (parity/zoo.py). The
check is check_onnx, the one parity engine; what this module adds is the export's side — its input sets and
native outputs (a user's model's test data; a zoo model's cases, with the model's tolerances), the framework's
own reduced-precision runs, and, for a user's torch model, the export difference localized in the model.

In a run and in `parity`, the check runs in a worker of its own (export_check): ONNX Runtime never shares a
process with the framework that exported the graph, so neither one's threads, allocator or CUDA context colours
the other's results, and a runtime that crashes on a graph costs that model's cells, not the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from aibench_onnx.artifacts.variants import load_arrays
from aibench_onnx.jsonio import known_fields
from aibench_onnx.parity.cell import ExportParity, ParityCell
from aibench_onnx.parity.check import CheckResult, check_onnx
from aibench_onnx.parity.export_difference import locate_export_difference
from aibench_onnx.parity.judging import InputSet, TolerancePolicy
from aibench_onnx.requests import OneSetCheck
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32


@dataclass(frozen=True)
class StoredSet:
    """An input set on disk: its name, its inputs (.npz), the model's own outputs on it (.npz), and its atol
    scale (parity/judging.InputSet)."""

    name: str
    input_file: str
    expected_file: str
    atol_scale: float = 1.0

    def load(self) -> InputSet:
        return InputSet(self.name, load_arrays(self.input_file), load_arrays(self.expected_file), self.atol_scale)


@dataclass(frozen=True)
class ExportCheckRequest:
    """What the worker export_check checks: a model's export (its record) on every provider x level, in each
    precision (the export and its reduced-precision variants), on the reference graph runtime and the others
    asked for, over the export's test data and the given `sets`."""

    model: str
    size: str
    framework: str
    export: dict  # the export record (artifacts/user_export.py, artifacts/native.py): graph, test data, reduced runs
    eps: tuple[str, ...]
    opt_levels: tuple[str, ...]
    threads: int
    precisions: tuple[str, ...] = (FP32,)
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic
    graph_runtimes: tuple[str, ...] = (REFERENCE,)
    user: dict | None = None  # a user's model (UserModel.to_dict()): an export difference is localized in it
    opset: int = 18
    timeout_s: float = 600.0
    repro_dir: str | None = None  # a reproduction bundle per failing fp32 ORT cell there, as `check --repro`
    sets: tuple[StoredSet, ...] = ()  # a zoo model's cases (a user's model's sets are its export's test data)
    tolerances: TolerancePolicy = field(default_factory=TolerancePolicy)  # a zoo model's own
    tf32: bool = False  # CUDA computes float32 in TF32, judged with TF32's tolerance

    def to_dict(self) -> dict:
        return {**asdict(self), "tolerances": self.tolerances.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> ExportCheckRequest:
        tuples = ("eps", "opt_levels", "precisions", "graph_runtimes")
        known = {k: tuple(v) if k in tuples else v for k, v in known_fields(cls, data).items()}
        known["sets"] = tuple(StoredSet(**s) for s in data.get("sets") or [])
        known["tolerances"] = TolerancePolicy.from_dict(data.get("tolerances") or {})
        return cls(**known)


def check_export(record: dict, eps: list[str] | None, opt_levels: list[str] | None, *,
                 subject: tuple[str, str, str, str], user: dict | None, opset: int, test_data: list[str] = (),
                 timeout_s: float = 600.0, repro_dir: str | None = None, variants_beside_graph: bool = True,
                 **options) -> CheckResult:
    """A model's export checked against its native outputs. The graph runtimes on every provider x level, fed
    the export's test data (plus `test_data`, plus `options["input_sets"]`); reduced precisions
    (`options["precisions"]`) as variants beside the graph (else in a folder of their own:
    `variants_beside_graph` False, a graph in a folder about to go), calibrated on the export's calibration
    sets and judged against the framework's own reduced runs the export recorded; then, where the runtimes agree
    on a difference from the native model, the difference localized in the user's model (`user`, a UserModel's
    dict; None: a zoo model, or a live object that cannot be rebuilt in a worker). `options` go to check_onnx."""
    checked = check_onnx(record["path"], list(record.get("test_data") or []) + list(test_data), eps, opt_levels,
                         variants_dir=str(Path(record["path"]).parent / "variants") if variants_beside_graph else None,
                         calibration_files=record.get("calibration_files"),
                         calibration_note=record.get("calibration", ""), native_reduced=record.get("reduced"),
                         reference_is_model=True, subject=subject, repro_dir=repro_dir, **options)
    if user is not None:
        locate_export_difference(user, record, checked.cells, opset, timeout_s, repro_dir)
    return checked


def export_check(document: dict) -> dict:
    """The worker's job: an ExportCheckRequest's check, stated as the model's parity cells — each failing
    cell's reason names its first diverging node and the input set it was found on."""
    request = ExportCheckRequest.from_dict(document)
    record = request.export
    common = (request.model, request.size, request.framework, record.get("exporter", ""))
    if record["status"] != Status.OK:
        cells = [ParityCell(*common, ep, level, Status.EXPORT_FAILED, record.get("reason", ""), precision=precision)
                 for precision in request.precisions for ep in request.eps for level in request.opt_levels]
        return {"status": Status.OK, "result": ExportParity(*common[:3], record, cells).to_dict()}
    checked = check_export(record, list(request.eps), list(request.opt_levels), subject=common, user=request.user,
                           opset=request.opset, timeout_s=request.timeout_s, repro_dir=request.repro_dir,
                           input_sets=[stored.load() for stored in request.sets], threads=request.threads,
                           precisions=request.precisions, error_stats=request.error_stats,
                           runtimes=request.graph_runtimes, tolerances=request.tolerances, tf32=request.tf32)
    for cell in checked.cells:
        if cell.divergence and cell.divergence.get("found"):
            found_on = list(cell.cases)[cell.failing_sets[0] if cell.failing_sets else 0]
            cell.reason += (f"; first diverging node: {cell.divergence['node']} ({cell.divergence['op_type']}), "
                            f"input set {found_on}")
    return {"status": Status.OK,
            "result": ExportParity(*common[:3], record, checked.cells, checked.variants).to_dict()}


def check_one_set(document: dict) -> dict:
    """The worker check_one_set (requests.OneSetCheck): `check` on an exported graph with one input set and the
    framework's outputs on it as the reference, on one provider at level disabled and the failing levels — a
    failing generation step's localization and reproduction."""
    request = OneSetCheck.from_dict(document)
    result = check_onnx(request.path, eps=[request.ep], opt_levels=list(request.opt_levels), threads=request.threads,
                        input_sets=[InputSet("", load_arrays(request.input_file), load_arrays(request.expected_file))],
                        reference_is_model=True, repro_dir=request.repro_dir)
    return {"status": Status.OK, "cells": [cell.to_dict() for cell in result.cells]}
