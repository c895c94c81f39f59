"""Reduced-precision parity: judge a precision variant's outputs (artifacts/variants.py builds them) against
the fp32 native outputs with the precision's own verdict (zoo/precision.py), and locate where a failing
variant's error enters."""

from __future__ import annotations

from typing import Callable

import numpy as np

from aibench_onnx.artifacts.variants import load_arrays
from aibench_onnx.parity.engine import OutputComparison
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import PrecisionJudgement

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


def locate_precision_error(fp32_path: str, variant: dict, ep: str, opt_level: str, feed: dict[str, np.ndarray],
                           min_sqnr_db: float | None, threads: int) -> dict | None:
    """Where a failing variant's error enters, on `feed` (an input set it failed): the first node to produce
    Inf/NaN where fp32 does not, the first whose SQNR falls below the precision's floor, the worst few.
    The fp32 graph runs on ORT CPU without optimizations; the variant on the failing cell's provider/level."""
    if not variant.get("path"):
        return None
    import onnx

    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.precision_profile import error_profile

    return error_profile(onnx.load(fp32_path), onnx.load(variant["path"]), feed, ort_runner("cpu", "disabled", threads),
                         ort_runner(ep, opt_level, threads), min_sqnr_db)


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
