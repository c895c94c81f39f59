"""Reduced-precision parity: build each precision variant of an exported fp32 graph (in ORT's process, since
int8 needs ONNX Runtime's quantizer) and judge its outputs against the fp32 native outputs with the
precision's own verdict (zoo/precision.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.parity.engine import OutputComparison
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32, PrecisionJudgement

CALIBRATION_SETS = 8
CALIBRATION_SEED = 10_000  # evaluation inputs use seeds from 0: calibration never sees them
# Precisions whose activation ranges come from calibration: the large-magnitude input set lies beyond them
# and saturates by design, so it is reported, not judged.
BEYOND_CALIBRATION = ("int8-static",)


def for_case(judgement: PrecisionJudgement, atol_scale: float) -> PrecisionJudgement:
    """The large-magnitude input set (inputs x50) tests overflow and saturation, not precision: it is judged
    on NaN/Inf, cosine and SQNR only — fp16's 1 % band on outputs fifty times larger measures nothing new."""
    if atol_scale == 1.0:
        return judgement
    from dataclasses import replace

    return replace(judgement, max_mismatch=1.0)


def build_variant(onnx_path: str, precision: str, calibration_files: list[str], directory: str | None = None) -> dict:
    """The variant's record: status, path (`directory`, default the fp32 graph's, /model.PRECISION.onnx), what
    converted and what stayed as it was. Never raises for a graph the converter or quantizer refuses: that
    is the record's reason."""
    target = Path(directory or Path(onnx_path).parent) / f"model.{precision}.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if precision == "fp16":
            from aibench_onnx.graph.fp16 import convert_to_fp16

            return {"status": Status.OK, **convert_to_fp16(onnx_path, target)}
        if precision == "bf16":
            from aibench_onnx.graph.fp16 import convert_to_bf16

            return {"status": Status.OK, **convert_to_bf16(onnx_path, target)}
        if precision == "int8-dynamic":
            from aibench_onnx.ort.quantize import quantize_int8_dynamic

            return quantize_int8_dynamic(onnx_path, target)
        if precision == "int8-static":
            from aibench_onnx.ort.quantize import quantize_int8_static

            return quantize_int8_static(onnx_path, target, (load_arrays(f) for f in calibration_files))
    except Exception as exc:  # noqa: BLE001 - the converter's failure is the result
        return {"precision": precision, "status": Status.FAILED,
                "reason": f"conversion to {precision} failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    raise ValueError(f"unknown precision {precision!r}")


def load_arrays(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


def calibration_sets(make: Callable[[int], dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """int8-static's calibration inputs, `make(seed)` at seeds no judged or timed input uses."""
    return [make(CALIBRATION_SEED + index) for index in range(CALIBRATION_SETS)]


def write_calibration(feeds: list[dict[str, np.ndarray]], directory: Path) -> list[str]:
    """The calibration sets as .npz files under `directory`/calibration (the quantizer runs in a worker)."""
    (directory / "calibration").mkdir(parents=True, exist_ok=True)
    files = []
    for index, feed in enumerate(feeds):
        files.append(str(directory / "calibration" / f"set{index}.npz"))
        np.savez(files[-1], **feed)
    return files


def judge(row: OutputComparison, judgement: PrecisionJudgement) -> OutputComparison:
    """Replace the elementwise verdict of `row` (compared with the judgement's band) by the precision's."""
    if row.max_abs is None and not row.passed:  # shape or dtype differ: nothing to judge
        return row
    failures = []
    if row.nonfinite_match is False:
        failures.append("NaN/Inf in different places (fp16 overflow?)" if judgement.max_mismatch < 1 else
                        "NaN/Inf in different places")
    if row.mismatch_fraction is not None and row.mismatch_fraction > judgement.max_mismatch:
        failures.append(f"{row.mismatch_fraction:.1%} of elements outside {judgement.atol:g} + "
                        f"{judgement.rtol:g}·|ref| (allowed {judgement.max_mismatch:.0%})")
    if row.cosine is not None and row.cosine < judgement.min_cosine:
        failures.append(f"cosine {row.cosine:.4f} < {judgement.min_cosine:g}")
    if judgement.min_sqnr_db is not None and row.sqnr_db is not None and row.sqnr_db < judgement.min_sqnr_db:
        failures.append(f"SQNR {row.sqnr_db:.1f} dB < {judgement.min_sqnr_db:g} dB")
    if judgement.mean_error and row.mean_abs is not None and row.ref_mean_abs is not None:
        allowed = judgement.atol + judgement.rtol * row.ref_mean_abs
        if row.mean_abs > allowed:
            failures.append(f"mean abs error {row.mean_abs:.3g} > {judgement.atol:g} + {judgement.rtol:g}·mean|ref| "
                            f"= {allowed:.3g}")
    if judgement.min_top1 is not None and row.top1_agreement is not None and row.top1_agreement < judgement.min_top1:
        failures.append(f"top-1 agreement {row.top1_agreement:.0%} < {judgement.min_top1:.0%}")
    row.passed, row.reason = not failures, "; ".join(failures)
    row.tolerance_reason = f"{judgement.statistic}: {judgement.reason}"
    return row


def is_reduced(precision: str) -> bool:
    return precision != FP32


def missing_kernel(precision: str, ep: str, error: str) -> str | None:
    """The reason, when ONNX Runtime refused a reduced-precision graph because the provider has no kernel for
    one of its ops in that type (its CPU provider has no bf16 MatMul or Add): a combination this provider does
    not support, not a broken graph."""
    import re

    found = re.search(r"NOT_IMPLEMENTED.*?Could not find an implementation for (\S+?\(\d+\))", error)
    if not is_reduced(precision) or found is None:
        return None
    where = " (ONNX Runtime's CUDA provider has bf16 kernels)" if precision == "bf16" and ep == "cpu" else ""
    return f"ONNX Runtime's {ep} provider has no {precision} kernel for {found[1]}{where}"


def locate_precision_error(fp32_path: str, variant: dict, ep: str, opt_level: str, feed: dict,
                           min_sqnr_db: float | None, threads: int) -> dict | None:
    """Where a failing variant's error enters, on `feed` (an input set it failed): the first node to produce
    Inf/NaN where fp32 does not, the first whose SQNR falls below the precision's floor, the worst few.
    The fp32 graph runs on ORT CPU without optimizations; the variant on the failing cell's provider/level."""
    if not variant.get("path"):
        return None
    import onnx

    from aibench_onnx.graph.precision_profile import error_profile
    from aibench_onnx.ort.session import ort_runner

    return error_profile(onnx.load(fp32_path), onnx.load(variant["path"]), feed, ort_runner("cpu", "disabled", threads),
                         ort_runner(ep, opt_level, threads), min_sqnr_db)


def variants_in_worker(onnx_path: str, precisions: list[str], calibration: list[dict[str, np.ndarray]],
                       workdir: Path, timeout_s: float = 1200.0) -> dict[str, dict]:
    """precision -> the variant's record, built in a worker of its own (bench and run time them)."""
    from aibench_onnx.workers import run_worker

    reduced = [p for p in precisions if is_reduced(p)]
    if not reduced:
        return {}
    workdir.mkdir(parents=True, exist_ok=True)
    files = write_calibration(calibration, workdir) if "int8-static" in reduced else []
    outcome = run_worker("aibench_onnx.workers.precision_variant",
                         {"onnx_path": onnx_path, "precisions": reduced, "calibration_files": files}, timeout_s,
                         workdir / "precision_request.json")
    if not outcome.ok:
        return {p: {"precision": p, "status": Status.FAILED, "reason": f"variant worker: {outcome.reason}"}
                for p in reduced}
    return outcome.document["variants"]


def inherent_error(reduced: dict, judgement_for: Callable[[str], PrecisionJudgement],
                   fp32_outputs: list[dict[str, np.ndarray]]) -> dict:
    """The framework's own run in a reduced precision (`reduced`: its status and output files, one per input
    set) against its fp32 outputs, judged like the variant (`judgement_for`: output name -> judgement): the error
    the precision costs by itself; what an ONNX variant has beyond it is what the conversion adds. Sets without
    fp32 outputs (None) are skipped."""
    from aibench_onnx.parity.engine import compare_outputs, merge, worst

    if reduced.get("status") != Status.OK:
        return {"status": reduced.get("status", Status.UNAVAILABLE), "reason": reduced.get("reason", "")}
    rows = []
    for fp32, reduced_file in zip(fp32_outputs, reduced["output_files"]):
        if fp32 is None:
            continue
        compared = compare_outputs(fp32, load_arrays(reduced_file), lambda dtype: judgement_for("").band())
        rows.append([judge(row, judgement_for(row.name)) for row in compared])
    merged = merge(rows)
    return {"status": Status.PASSED if all(r.passed for r in merged) else Status.FAILED,
            "reason": next((f"{r.name}: {r.reason}" for r in merged if not r.passed), ""),
            "max_abs": worst(merged, "max_abs"), "mean_abs": worst(merged, "mean_abs"),
            "cosine": min((r.cosine for r in merged if r.cosine is not None), default=None),
            "sqnr_db": min((r.sqnr_db for r in merged if r.sqnr_db is not None), default=None)}
