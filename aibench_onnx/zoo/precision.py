"""Reduced-precision graphs and how they are judged (numpy only).

A reduced-precision graph is judged against the fp32 *native* outputs — the model as its author meant it —
with a verdict that fits the precision. An elementwise band with the max statistic (fp32's rule) fails every
fp16 graph for differences that are normal, and says nothing useful about int8; so each precision states
which statistic its verdict uses, with the reason (design §6 style). A model may override one, with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

FP32 = "fp32"
# The precisions the frameworks run themselves (torch .half() / .bfloat16(), Keras' dtype policies, JAX params),
# as numpy dtype names (ml_dtypes' bfloat16, which onnx depends on): their error is inherent to the precision.
NATIVE_DTYPES = {"fp16": "float16", "bf16": "bfloat16"}
STATISTICS = ("max", "median", "mean", "signal")  # and pNN
PRECISIONS = (FP32, "fp16", "bf16", "int8-dynamic", "int8-static")


@dataclass(frozen=True)
class PrecisionJudgement:
    """Passed when: at most `max_mismatch` of the elements lie outside atol + rtol·|ref| (0: every element,
    the max statistic; 0.01: the 99th percentile), or with `mean_error` the mean error lies within
    atol + rtol·mean|ref|; cosine similarity >= `min_cosine`, SQNR >= `min_sqnr_db` (when set), and top-1
    agreement >= `min_top1` for classifier outputs (when set). NaN/Inf must match."""

    rtol: float
    atol: float
    max_mismatch: float
    min_cosine: float
    min_sqnr_db: float | None
    min_top1: float | None
    reason: str
    mean_error: bool = False

    def using(self, statistic: str) -> "PrecisionJudgement":
        """This judgement with another verdict statistic (Polygraphy's --check-error-stat): max, median,
        mean, pNN (a quantile, e.g. p99) or signal (cosine and SQNR only). ValueError for anything else."""
        found = re.fullmatch(r"p(\d+(?:\.\d+)?)", statistic)
        if found and 0 < float(found[1]) <= 100:
            mismatch = round(1 - float(found[1]) / 100, 6)
        elif statistic in STATISTICS:
            mismatch = {"max": 0.0, "median": 0.5}.get(statistic, 1.0)
        else:
            raise ValueError(f"unknown error statistic {statistic!r} (expected {', '.join(STATISTICS)} or pNN, e.g. p99)")
        return replace(self, max_mismatch=mismatch, mean_error=statistic == "mean",
                       reason=f"{self.reason}; verdict statistic {statistic}, as asked")

    def band(self, atol_scale: float = 1.0):
        """The elementwise band the comparison reports mismatches against (atol scaled with the inputs)."""
        from aibench_onnx.zoo.tolerance import Tolerance

        return Tolerance(self.rtol, self.atol * atol_scale, self.reason)

    @property
    def statistic(self) -> str:
        if self.mean_error:
            return "mean"
        if self.max_mismatch >= 1.0:
            return "signal"  # cosine and SQNR only
        return "max" if self.max_mismatch == 0 else f"p{100 * (1 - self.max_mismatch):g}"


JUDGEMENTS: dict[str, PrecisionJudgement] = {
    "fp16": PrecisionJudgement(
        rtol=1e-2, atol=1e-2, max_mismatch=0.01, min_cosine=0.999, min_sqnr_db=30.0, min_top1=None,
        reason="fp16 keeps 11 significant bits (~5e-4 relative per operation) and the error grows through the "
               "layers: a 1e-2 difference is normal (NVIDIA/TensorRT #2709), so 99 % of elements must lie within "
               "1e-2 + 1e-2·|ref|, the output keep its direction (cosine >= 0.999) and SQNR >= 30 dB; top-1 "
               "agreement is reported, not judged (near-ties flip)"),
    "int8-dynamic": PrecisionJudgement(
        rtol=0.1, atol=0.1, max_mismatch=1.0, min_cosine=0.98, min_sqnr_db=13.0, min_top1=None,
        reason="int8 has 256 levels per tensor: per-element differences of several percent are expected, so the "
               "verdict is whether the signal survives — SQNR >= 13 dB and cosine >= 0.98; elements outside "
               "0.1 + 0.1·|ref| and top-1 agreement are reported"),
}
JUDGEMENTS["bf16"] = PrecisionJudgement(
    rtol=5e-2, atol=5e-2, max_mismatch=0.01, min_cosine=0.995, min_sqnr_db=20.0, min_top1=None,
    reason="bf16 keeps fp32's range but only 8 significant bits (~4e-3 relative per operation, 8x fp16's): 99 % of "
           "elements within 5e-2 + 5e-2·|ref|, cosine >= 0.995 and SQNR >= 20 dB (fp16's floor less the 18 dB "
           "three bits cost)")
JUDGEMENTS["int8-static"] = PrecisionJudgement(**{
    **JUDGEMENTS["int8-dynamic"].__dict__,
    "reason": JUDGEMENTS["int8-dynamic"].reason + "; activations use ranges calibrated on other inputs, so an "
              "input beyond them saturates"})


def judgements_per_output(precision: str, statistics: dict[str, str] | None = None,
                          overrides: dict[str, PrecisionJudgement] | None = None):
    """output name -> the judgement of `precision` for it: a model's override for that output
    ("fp16/logits") or for every output ("fp16"), else the default; then the verdict statistic the user
    chose for that output (`statistics`: output name, or "" for every output -> statistic)."""
    statistics, overrides = statistics or {}, overrides or {}

    def judgement_for(output: str) -> PrecisionJudgement:
        base = overrides.get(f"{precision}/{output}") or overrides.get(precision) or JUDGEMENTS[precision]
        statistic = statistics.get(output) or statistics.get("")
        return base.using(statistic) if statistic else base

    return judgement_for


def cast_floats(array, precision: str):
    """A float array in `precision`'s numpy dtype (fp16, or ml_dtypes' bfloat16); other arrays as they are."""
    import numpy as np

    if array.dtype.kind != "f":
        return array
    if precision == "bf16":
        import ml_dtypes

        return array.astype(ml_dtypes.bfloat16)
    return array.astype(np.float16)


def is_reduced(precision: str) -> bool:
    return precision != FP32
