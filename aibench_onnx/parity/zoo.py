"""ONNX parity: export each zoo model with its framework's exporter, run the graph in ONNX Runtime for
each provider x optimization level, and compare with the framework's own outputs.

Processes: native outputs and the export run in the framework's process (native_worker); ONNX Runtime
runs in a process of its own (ort_worker). Artifacts stay in the output directory:
<out>/<model>/<framework>/model.onnx, export.json, inputs/<case>.npz, and the outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator
from pathlib import Path

import numpy as np

from aibench_onnx.artifacts.native import WORKER_TIMEOUT_S, NativeBatch, NativeRequest, native_request
from aibench_onnx.artifacts.variants import calibration_sets, load_arrays, write_calibration
from aibench_onnx.frameworks import missing_framework
from aibench_onnx.launch import run_worker
from aibench_onnx.parity.cell import ExportParity, ParityCell, assign_blame
from aibench_onnx.parity.engine import (
    compare_outputs,
    merge,
    worst,
)
from aibench_onnx.parity.config_run import VALUE_INFO_REMOVED, ConfigRun
from aibench_onnx.parity.graph_side import GraphParityRequest
from aibench_onnx.parity.ort_side import OrtParityRequest
from aibench_onnx.parity.precision import (
    BEYOND_CALIBRATION,
    for_case,
    inherent_error,
    judge,
    locate_precision_error,
)
from aibench_onnx.parity.zoo_localize import localize_zoo_cells, needs_localizing
from aibench_onnx.runtimes import REFERENCE, other_graph_runtimes
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH, parity_cases
from aibench_onnx.zoo.precision import FP32, is_reduced
from aibench_onnx.zoo.spec import TF32_TOLERANCE, ModelSpec, Tolerance


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
    from aibench_onnx.parity.graph_side import DEFAULT_LEVEL
    from aibench_onnx.runtimes import GRAPH_RUNTIMES

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
    """Given the framework process's document (native outputs and the export): ORT per provider x level in its
    own process, compared with the native outputs, with blame."""
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

    ort = _run_ort(record["path"], configs, job.input_files, job.workdir, job.threads, tf32, precisions,
                   job.calibration_files)
    inherent = _inherent_errors(job, native)
    cells = []
    for precision, ep, level in ((p, ep, level) for p in precisions for ep, level in configs):
        cell = ParityCell(spec.name, size, framework, exporter, ep, level, Status.PASSED, tf32=tf32 and ep == "cuda",
                          precision=precision)
        result = ort.runs.get((precision, ep, level),
                              ConfigRun(ep, level, precision, Status.ERROR, ort.reason or "ORT worker failed"))
        if result.diagnostic == VALUE_INFO_REMOVED:
            _diagnose_stripped(cell, spec, job.cases, native["output_files"], result)
        elif result.status != Status.OK:
            cell.status, cell.reason = _failed_status(result.status), result.reason
        else:
            cell.providers, cell.input_casts, cell.audit = result.providers, result.casts, result.audit
            _compare(cell, spec, job.cases, native["output_files"], result.output_files, job.error_stats)
        if framework in spec.known_export_failures and cell.status == "passed":
            cell.reason = "listed as a known export failure but exported and passed: remove the entry"
        cell.inherent = inherent.get(precision)
        if cell.status == Status.FAILED and is_reduced(precision) and cell.outputs:
            cell.localization = _locate(record["path"], ort.variants.get(precision, {}), cell, spec,
                                        job.cases, job.threads)
        _known_precision_failure(cell, spec)
        cells.append(cell)
    if any(needs_localizing(cell) for cell in cells):
        sets = {case.name: (inputs, outputs) for case, inputs, outputs
                in zip(job.cases, job.input_files, native["output_files"])}
        localize_zoo_cells(record["path"], cells, sets, job.threads, job.repro_dir, WORKER_TIMEOUT_S)
    for kind in other_graph_runtimes(job.runtimes):
        cells += _other_runtime_cells(job, native, exporter, kind)
    assign_blame(cells)
    return ExportParity(spec.name, size, framework, record, cells, ort.variants)


def _other_runtime_cells(job: PreparedParity, native: dict, exporter: str, kind: str) -> list[ParityCell]:
    """The fp32 graph on another graph runtime (OpenVINO), on each device of `job`'s eps it offers, judged
    with the same tolerances as ORT's cells; missing, it is unavailable with the line that installs it."""
    from aibench_onnx.runtimes import missing_runtime

    spec, record = job.spec, native["export"]
    cells = [ParityCell(spec.name, job.size, job.framework, exporter, ep, level, Status.PASSED, runtime=kind)
             for ep, level in _other_configs(kind, job.configs)]
    eps = [cell.ep for cell in cells]
    missing = missing_runtime(kind)
    if missing:
        for cell in cells:
            cell.status, cell.reason = Status.UNAVAILABLE, missing
        return cells
    request = GraphParityRequest(kind, record["path"], eps, job.input_files, job.threads, str(job.workdir))
    outcome = run_worker("graph_parity", request, WORKER_TIMEOUT_S,
                         job.workdir / f"{kind}_request.json")
    runs = [ConfigRun.from_dict(r) for r in outcome.document.get("configs", [])] if outcome.ok else []
    results = {run.ep: run for run in runs}
    for cell in cells:
        result = results.get(cell.ep) or ConfigRun(cell.ep, cell.opt_level, FP32, Status.ERROR,
                                                   outcome.reason or f"{kind} worker failed")
        if result.status != Status.OK:
            cell.status, cell.reason = _failed_status(result.status), result.reason
            continue
        cell.providers, cell.input_casts = result.providers, result.casts
        _compare(cell, spec, job.cases, native["output_files"], result.output_files, job.error_stats)
    return cells


def _inherent_errors(job: PreparedParity, native: dict) -> dict[str, dict]:
    """precision -> the framework's own run in it against its fp32 run, once per precision (every provider x
    level cell of that precision shows the same), over the natural-scale input sets as the headline numbers."""
    reduced = native.get("reduced") or {}
    if not reduced:
        return {}
    natural = [load_arrays(fp32) if case.atol_scale == 1.0 else None
               for case, fp32 in zip(job.cases, native["output_files"])]
    return {precision: inherent_error(found, job.spec.judgements(precision, job.error_stats), natural)
            for precision, found in reduced.items()}


def _locate(fp32_path: str, variant: dict, cell: ParityCell, spec: ModelSpec, cases, threads: int) -> dict | None:
    """Where a failing variant's error enters, on the first input set it failed."""
    failing = next((case for case in cases if not cell.cases.get(case.name, {}).get("passed", True)), cases[0])
    profile = locate_precision_error(fp32_path, variant, cell.ep, cell.opt_level, failing.arrays,
                                     spec.judgement(cell.precision).min_sqnr_db, threads)
    if profile is not None:
        profile["input_set"] = failing.name
    return profile


def _failed_status(status: str) -> str:
    return status if status in (Status.EP_UNAVAILABLE, Status.UNAVAILABLE, Status.EXPORT_FAILED) else Status.FAILED


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
    once, not once a model), then each model's graph runtimes in processes of their own. Yields each model's
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


def case_tolerance(spec: ModelSpec, dtype: str, atol_scale: float = 1.0, tf32: bool = False) -> Tolerance:
    """The spec's tolerance for `dtype`, widened to TF32's for float32 on a TF32 run, with atol scaled for an
    input set whose magnitudes were scaled up."""
    base = spec.tolerance(dtype)
    if tf32 and dtype == "float32":
        base = Tolerance(max(base.rtol, TF32_TOLERANCE.rtol), max(base.atol, TF32_TOLERANCE.atol),
                         TF32_TOLERANCE.reason)
    if atol_scale == 1.0:
        return base
    return Tolerance(base.rtol, base.atol * atol_scale, f"{base.reason}; atol x{atol_scale:g} for inputs x{atol_scale:g}")


def _compare(cell: ParityCell, spec: ModelSpec, cases, native_files: list[str], ort_files: list[str],
             error_stats: dict[str, str] | None = None) -> None:
    """Compare every input set. Headline numbers merge the sets at natural scale; a scaled-up set (large
    magnitudes) is judged with its atol scaled alike and reported on its own in `cases`."""
    headline = []
    judgement = spec.judgement(cell.precision) if is_reduced(cell.precision) else None
    for case, native_file, ort_file in zip(cases, native_files, ort_files):
        def tolerance_for(dtype: str, scale: float = case.atol_scale) -> Tolerance:
            if judgement is not None:  # a reduced-precision graph: the precision's band, whatever the dtype
                return judgement.band(scale)
            return case_tolerance(spec, dtype, scale, cell.tf32)

        rows = compare_outputs(load_arrays(native_file), load_arrays(ort_file), tolerance_for)
        if judgement is not None:
            judgement_for = spec.judgements(cell.precision, error_stats)
            rows = [judge(row, for_case(judgement_for(row.name), case.atol_scale)) for row in rows]
        if case.atol_scale == 1.0:
            headline.append(rows)
        failing_rows = [r for r in rows if not r.passed]
        cell.cases[case.name] = {"passed": not failing_rows, "max_abs": worst(rows, "max_abs"), "atol": rows[0].atol if rows else None,
                                 "reason": failing_rows[0].reason if failing_rows else ""}
    cell.outputs = merge(headline)
    failing = [name for name, result in cell.cases.items() if not result["passed"]
               and not (cell.precision in BEYOND_CALIBRATION and name == "large")]
    if failing:
        first = cell.cases[failing[0]]
        cell.status = Status.FAILED
        cell.reason = f"{first['reason']} (input sets: {', '.join(failing)})"


def _diagnose_stripped(cell: ParityCell, spec, cases, native_files, result: ConfigRun) -> None:
    """ORT rejected the file for its shape annotations; report how the graph computes without them."""
    cell.providers, cell.input_casts = result.providers, result.casts
    _compare(cell, spec, cases, native_files, result.output_files)
    verdict = "match the native outputs" if cell.status == Status.PASSED else "still differ from the native outputs"
    cell.status = Status.FAILED
    cell.reason = (f"{result.reason.splitlines()[0][:300]} — the exporter's shape annotations (value_info) "
                   f"contradict the graph; with them removed it loads and its outputs {verdict}")


@dataclass
class OrtRuns:
    """ONNX Runtime's worker's answer: each (precision, ep, level)'s run, the precision variants' records, or
    why the worker gave none."""

    runs: dict[tuple[str, str, str], ConfigRun] = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)
    reason: str = ""


def _run_ort(onnx_path: str, configs, input_files, workdir: Path, threads: int, tf32: bool = False,
             precisions: tuple[str, ...] = (FP32,), calibration_files: list[str] | None = None) -> OrtRuns:
    """Every (precision, ep, level) on ONNX Runtime, in its worker."""
    request = OrtParityRequest(onnx_path, list(configs), input_files, threads, str(workdir), tf32, list(precisions),
                               calibration_files or [])
    outcome = run_worker("ort_parity", request, WORKER_TIMEOUT_S, workdir / "ort_request.json")
    if not outcome.ok:
        return OrtRuns(reason=outcome.reason or "ORT worker failed")
    runs = [ConfigRun.from_dict(c) for c in outcome.document["configs"]]
    return OrtRuns({(r.precision, r.ep, r.opt_level): r for r in runs}, outcome.document.get("variants", {}))
