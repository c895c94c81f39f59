"""ONNX parity of the zoo: export each zoo model with its framework's exporter and check the graph with the
parity engine (parity/check.py, the one `check` and users' models use) on each provider x optimization level x
precision and graph runtime, against the framework's own outputs on the model's cases — its input sets, with
its tolerances — then the zoo's own reading: known export and precision failures, and blame.

Processes: native outputs and the export run in the framework's process (native worker); the check runs in a
process of its own (export_check worker). Artifacts stay in the output directory:
<out>/<model>/<framework>/model.onnx, export.json, inputs/<case>.npz, the native outputs and the variants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator
from pathlib import Path

import numpy as np

from aibench_onnx.artifacts.native import WORKER_TIMEOUT_S, NativeBatch, NativeRequest, native_request
from aibench_onnx.artifacts.variants import calibration_sets, write_calibration
from aibench_onnx.frameworks import missing_framework
from aibench_onnx.launch import run_worker
from aibench_onnx.parity.cell import ExportParity, ParityCell, assign_blame
from aibench_onnx.parity.judging import TolerancePolicy
from aibench_onnx.runtimes import DEFAULT_LEVEL, GRAPH_RUNTIMES, REFERENCE, other_graph_runtimes
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH, parity_cases
from aibench_onnx.zoo.precision import FP32
from aibench_onnx.zoo.spec import ModelSpec


def _cells(spec, size, framework, exporter, configs, status, reason, tf32=False,
           precisions: tuple[str, ...] = (FP32,), runtimes: tuple[str, ...] = (REFERENCE,)) -> list[ParityCell]:
    """Every cell of the job with one status and reason (nothing could run): ORT's per precision x provider x
    level, and each other graph runtime's per device it offers."""
    return [ParityCell(spec.name, size, framework, exporter, ep, level, status, reason, tf32=tf32 and ep == "cuda",
                       precision=precision)
            for precision in precisions for ep, level in configs] + \
        [ParityCell(spec.name, size, framework, exporter, ep, level, status, reason, runtime=kind)
         for kind in other_graph_runtimes(runtimes) for ep, level in _other_configs(kind, configs)]


def _other_configs(kind: str, configs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(device, level) of graph runtime `kind` for ORT's (ep, level) configurations: the eps it offers, at its
    one level."""
    return [(ep, DEFAULT_LEVEL) for ep in GRAPH_RUNTIMES[kind].offered([ep for ep, _ in configs])]


@dataclass
class PreparedParity:
    """A zoo parity check up to the framework's process: inputs written, the native request ready."""

    spec: ModelSpec
    size: str
    framework: str
    configs: list[tuple[str, str]]  # (ep, opt level)
    cases: list
    input_files: list[str]
    workdir: Path
    native_request: NativeRequest
    threads: int
    tf32: bool
    precisions: tuple[str, ...] = (FP32,)
    calibration_files: list[str] = field(default_factory=list)  # int8-static: inputs the ranges come from
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic
    # graph runtimes to check; others than the reference: fp32, on the eps they offer
    runtimes: tuple[str, ...] = (REFERENCE,)
    repro_dir: Path | None = None  # --repro: a reproduction bundle per failing fp32 ORT cell there


def prepare_parity(spec: ModelSpec, size: str, framework: str, eps: list[str], opt_levels: list[str], seeds: int,
                   threads: int, out_dir: Path, opset: int, tf32: bool = False,
                   precisions: tuple[str, ...] = (FP32,),
                   error_stats: dict[str, str] | None = None,
                   runtimes: tuple[str, ...] = (REFERENCE,),
                   repro_dir: Path | None = None) -> PreparedParity | ExportParity:
    """Write the input sets (and int8-static's calibration sets, drawn from other seeds) and the framework
    process's request; an ExportParity at once when the framework is not installed. `error_stats`: the
    verdict statistic of reduced-precision cells per output name ("" for every output). `repro_dir`: the
    reproduction bundles of this model's failing fp32 ORT cells go to repro_dir/<model>/<framework>."""
    configs = [(ep, level) for ep in eps for level in opt_levels]
    workdir = out_dir / spec.name / framework
    (workdir / "inputs").mkdir(parents=True, exist_ok=True)
    problem = missing_framework(framework)
    if problem:
        return ExportParity(spec.name, size, framework, None,
                            _cells(spec, size, framework, "", configs, Status.UNAVAILABLE, f"{framework}: {problem}", tf32,
                                   precisions, tuple(runtimes)))
    cases = parity_cases(spec, size, seeds)
    input_files = []
    for case in cases:
        path = workdir / "inputs" / f"{case.name}.npz"
        np.savez(path, **case.arrays)
        input_files.append(str(path))
    (workdir / "cases.json").write_text(json.dumps([c.name for c in cases]))
    calibration_files = (write_calibration(calibration_sets(lambda seed: spec.make_inputs(size, EXPORT_BATCH, seed)),
                                           workdir) if "int8-static" in precisions else [])
    return PreparedParity(spec, size, framework, configs, cases, input_files, workdir,
                          native_request(spec, size, framework, input_files, workdir, threads, opset, precisions),
                          threads, tf32, tuple(precisions), calibration_files, dict(error_stats or {}), tuple(runtimes),
                          repro_dir and Path(repro_dir) / spec.name / framework)


def finish_parity(job: PreparedParity, native: dict) -> ExportParity:
    """Given the framework process's document (native outputs and the export): the export checked against the
    native outputs (_check_export), then the zoo's known failures and blame."""
    spec, size, framework, configs, tf32 = job.spec, job.size, job.framework, job.configs, job.tf32
    precisions = job.precisions
    if native.get("status") != Status.OK:
        reason = native.get("reason") or "native worker failed"
        return ExportParity(spec.name, size, framework, None,
                            _cells(spec, size, framework, "", configs, Status.ERROR, reason, tf32, precisions,
                                   job.runtimes))
    record = native["export"]
    exporter = f"{record['exporter']} {record['exporter_version']}"
    if record["status"] != Status.OK:
        known = spec.known_export_failures.get(framework)
        status = Status.KNOWN_FAILURE if known else Status.EXPORT_FAILED
        reason = record["reason"] + (f" — known: {known}" if known else "")
        return ExportParity(spec.name, size, framework, record,
                            _cells(spec, size, framework, exporter, configs, status, reason, tf32, precisions,
                                   job.runtimes))

    cells, variants = _check_export(job, native, exporter)
    for cell in cells:
        if framework in spec.known_export_failures and cell.status == Status.PASSED:
            cell.reason = "listed as a known export failure but exported and passed: remove the entry"
        _known_precision_failure(cell, spec)
    assign_blame(cells)
    return ExportParity(spec.name, size, framework, record, cells, variants)


def tolerance_policy(spec: ModelSpec) -> TolerancePolicy:
    """The model's own tolerances: per dtype, and per precision or output for its reduced-precision graphs."""
    return TolerancePolicy(dict(spec.tolerances), dict(spec.precision_judgements))


def _check_export(job: PreparedParity, native: dict, exporter: str) -> tuple[list[ParityCell], dict[str, dict]]:
    """The export checked by the parity engine in a worker of its own: every case with the native outputs on it
    as the reference, under the model's tolerances; reduced precisions calibrated on the model's calibration
    sets and set against the framework's own reduced runs; failing fp32 ORT cells localized (and reproduced
    under `job.repro_dir`). Returns the cells and the precision variants' records."""
    from aibench_onnx.parity.export_check import ExportCheckRequest, StoredSet

    sets = tuple(StoredSet(case.name, inputs, outputs, case.atol_scale)
                 for case, inputs, outputs in zip(job.cases, job.input_files, native["output_files"]))
    record = {**native["export"], "exporter": exporter, "reduced": native.get("reduced") or {},
              "calibration_files": job.calibration_files}
    eps = tuple(dict.fromkeys(ep for ep, _ in job.configs))
    levels = tuple(dict.fromkeys(level for _, level in job.configs))
    request = ExportCheckRequest(job.spec.name, job.size, job.framework, record, eps, levels, job.threads,
                                 job.precisions, job.error_stats, job.runtimes, timeout_s=WORKER_TIMEOUT_S,
                                 repro_dir=str(job.repro_dir) if job.repro_dir else None, sets=sets,
                                 tolerances=tolerance_policy(job.spec), tf32=job.tf32)
    outcome = run_worker("export_check", request, WORKER_TIMEOUT_S, job.workdir / "parity_request.json")
    if not outcome.ok:
        status = outcome.status if outcome.died else Status.FAILED
        return _cells(job.spec, job.size, job.framework, exporter, job.configs, status,
                      f"the parity check's process: {outcome.reason}", job.tf32, job.precisions, job.runtimes), {}
    checked = ExportParity.from_dict(outcome.document["result"])
    return checked.cells, checked.variants


def _known_precision_failure(cell: ParityCell, spec: ModelSpec) -> None:
    """A precision the spec names as a known failure, with its reason (like a known export failure)."""
    known = (spec.known_precision_failures.get(f"{cell.precision}/{cell.framework}")
             or spec.known_precision_failures.get(cell.precision))
    if known and cell.status in (Status.FAILED, Status.EXPORT_FAILED):
        cell.status, cell.reason = Status.KNOWN_FAILURE, f"{cell.reason} — known: {known}"
    elif known and cell.status == Status.PASSED:
        cell.reason = f"listed as a known {cell.precision} failure but passed: remove the entry"


@dataclass
class Lost:
    """A model whose framework process died (or timed out) before it reached it: it shares that fate."""

    status: str
    reason: str


def check_in_one_process(prepared: list[PreparedParity], timeout_s: float,
                         ids: list[str] | None = None) -> Iterator[ExportParity | Lost]:
    """Several models of one framework: their native runs and exports in one process of the framework (imported
    once, not once a model), then each model's check in a process of its own. Yields each model's
    result in order as it is finished; a model the framework's process did not reach is Lost with its reason.
    `timeout_s` is per model (the process gets the sum); `ids`: each model's job id (tests' crash hooks)."""
    from aibench_onnx.launch import run_worker_with_progress

    if not prepared:
        return
    requests = [replace(job.native_request, job_id=(ids or [""] * len(prepared))[i]) for i, job in enumerate(prepared)]
    outcome, documents = run_worker_with_progress("native", NativeBatch(requests), timeout_s * len(prepared))
    if outcome.ok:
        documents = outcome.document["documents"]
    for index, job in enumerate(prepared):
        if index >= len(documents):
            yield Lost(outcome.status if outcome.died else Status.FAILED, outcome.reason)
        else:
            yield finish_parity(job, documents[index])


def export_and_check_models(specs: list[ModelSpec], size: str | None, frameworks: list[str], eps: list[str],
                            opt_levels: list[str], seeds: int, threads: int, out_dir: Path, opset: int,
                            tf32: bool = False, precisions: tuple[str, ...] = (FP32,),
                            error_stats: dict[str, str] | None = None, runtimes: tuple[str, ...] = (REFERENCE,),
                            on_result: Callable[[ExportParity], None] | None = None,
                            repro_dir: Path | None = None) -> list[ExportParity]:
    """Every model x framework (`size` None: each model's default), each framework's models exported in one
    process of it (check_in_one_process); the results model by model, in the order of `specs` x `frameworks`.
    `on_result` sees each as it is finished; `repro_dir`: reproduction bundles of failing fp32 ORT cells there."""
    found: dict[tuple[str, str], ExportParity] = {}
    for framework in frameworks:
        prepared = []
        for spec in specs:
            job = prepare_parity(spec, size or spec.default_size, framework, eps, opt_levels, seeds, threads,
                                 out_dir, opset, tf32, precisions, error_stats, runtimes, repro_dir)
            if isinstance(job, ExportParity):  # the framework is not installed
                found[(spec.name, framework)] = job
                if on_result:
                    on_result(job)
            else:
                prepared.append(job)
        for job, result in zip(prepared, check_in_one_process(prepared, WORKER_TIMEOUT_S)):
            if isinstance(result, Lost):
                result = ExportParity(job.spec.name, job.size, framework, None,
                                      _cells(job.spec, job.size, framework, "", job.configs, result.status,
                                             f"{framework}'s process: {result.reason}", job.tf32, job.precisions,
                                             job.runtimes))
            found[(job.spec.name, framework)] = result
            if on_result:
                on_result(result)
    return [found[(spec.name, framework)] for spec in specs for framework in frameworks]
