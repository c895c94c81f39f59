"""The one comparison engine: expected outputs vs actual outputs, per output, with numbers.

Used for framework-vs-framework agreement and for ONNX Runtime vs native parity alike. Every comparison
reports the errors themselves (max / mean / p99 absolute, max relative, mismatch fraction, cosine), the
tolerance used, and the smallest atol that would have passed at that rtol — not only a verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import numpy as np

from aibench_onnx.jsonio import known_fields
from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES, Tolerance


@dataclass
class OutputComparison:
    name: str
    passed: bool
    reason: str  # "" when passed; otherwise what failed, in words
    expected_shape: tuple[int, ...] | None
    actual_shape: tuple[int, ...] | None
    expected_dtype: str | None
    actual_dtype: str | None
    rtol: float
    atol: float
    tolerance_reason: str
    max_abs: float | None = None
    mean_abs: float | None = None
    ref_mean_abs: float | None = None  # mean |reference|: the scale a mean-error verdict's rtol applies to
    p99_abs: float | None = None
    max_rel: float | None = None
    mismatch_fraction: float | None = None
    cosine: float | None = None
    sqnr_db: float | None = None  # 10·log10(Σref² / Σ(out-ref)²): the quantization literature's error measure
    top1_agreement: float | None = None  # (batch, classes) outputs: rows whose arg-max class is the same
    top5_agreement: float | None = None  # rows whose reference class is among the five highest
    nonfinite_match: bool | None = None
    min_passing_atol: float | None = None  # smallest atol that passes at this rtol (inf: nothing would)
    samples: int = 1  # how many input sets were merged into this row

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OutputComparison:
        """From its JSON (a stored cell's outputs); fields a newer version added keep their defaults."""
        known = known_fields(cls, data)
        for shape in ("expected_shape", "actual_shape"):
            if known.get(shape) is not None:
                known[shape] = tuple(known[shape])
        return cls(**known)


def _failed(name, expected, actual, tolerance, reason) -> OutputComparison:
    return OutputComparison(
        name=name, passed=False, reason=reason,
        expected_shape=None if expected is None else tuple(expected.shape),
        actual_shape=None if actual is None else tuple(actual.shape),
        expected_dtype=None if expected is None else str(expected.dtype),
        actual_dtype=None if actual is None else str(actual.dtype),
        rtol=tolerance.rtol, atol=tolerance.atol, tolerance_reason=tolerance.reason,
    )


def compare_output(name: str, expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance) -> OutputComparison:
    """Compare one output: |actual - expected| <= atol + rtol * |expected| elementwise, NaN/Inf in place."""
    if expected.shape != actual.shape:
        return _failed(name, expected, actual, tolerance, f"shape {actual.shape} != expected {expected.shape}")
    if expected.dtype != actual.dtype:
        return _failed(name, expected, actual, tolerance, f"dtype {actual.dtype} != expected {expected.dtype}")
    result = _failed(name, expected, actual, tolerance, "")
    if expected.dtype.kind in "OSUb" or actual.dtype.kind in "OSUb":  # strings, objects, bools: exact
        mismatches = int((np.asarray(expected) != np.asarray(actual)).sum())
        result.mismatch_fraction = mismatches / max(expected.size, 1)
        result.passed = mismatches == 0
        result.reason = "" if result.passed else f"{mismatches} of {expected.size} elements differ (exact comparison)"
        return result
    if expected.size == 0:
        result.passed, result.max_abs, result.mismatch_fraction, result.min_passing_atol = True, 0.0, 0.0, 0.0
        return result

    ref = expected.astype(np.float64)
    out = actual.astype(np.float64)
    # Non-finite values must sit in the same places with the same sign; errors are over the rest.
    same_nan = np.array_equal(np.isnan(ref), np.isnan(out))
    same_inf = np.array_equal(np.isposinf(ref), np.isposinf(out)) and np.array_equal(np.isneginf(ref), np.isneginf(out))
    result.nonfinite_match = bool(same_nan and same_inf)
    finite = np.isfinite(ref) & np.isfinite(out)

    diff = np.abs(out[finite] - ref[finite])
    magnitude = np.abs(ref)[finite]
    if diff.size:
        result.max_abs = float(diff.max())
        result.mean_abs = float(diff.mean())
        result.ref_mean_abs = float(magnitude.mean())
        result.p99_abs = float(np.percentile(diff, 99))
        nonzero = magnitude > 0
        result.max_rel = float((diff[nonzero] / magnitude[nonzero]).max()) if nonzero.any() else 0.0
        allowed = tolerance.atol + tolerance.rtol * magnitude
        mismatches = int((diff > allowed).sum())
        result.min_passing_atol = float(max(0.0, (diff - tolerance.rtol * magnitude).max()))
        flat_ref, flat_out = ref[finite], out[finite]
        norms = np.linalg.norm(flat_ref) * np.linalg.norm(flat_out)
        result.cosine = float(flat_ref @ flat_out / norms) if norms > 0 else (1.0 if not flat_ref.any() and not flat_out.any() else 0.0)
        result.sqnr_db = sqnr_db(flat_ref, flat_out)
        result.top1_agreement, result.top5_agreement = top_k_agreement(ref, out)
    else:
        result.max_abs = result.mean_abs = result.p99_abs = result.max_rel = 0.0
        mismatches, result.min_passing_atol = 0, 0.0
    mismatches += int((~finite).sum() - (~(np.isfinite(ref) | np.isfinite(out))).sum())
    result.mismatch_fraction = mismatches / expected.size
    if not result.nonfinite_match:
        result.min_passing_atol = float("inf")
        result.reason = "NaN/Inf in different places"
    elif mismatches:
        result.reason = f"{mismatches} of {expected.size} elements outside atol {tolerance.atol:g} + rtol {tolerance.rtol:g}·|ref|"
    result.passed = not result.reason
    return result


def sqnr_db(reference: np.ndarray, actual: np.ndarray) -> float | None:
    """Signal-to-quantization-noise ratio in dB (0 dB: the error is as large as the signal). None when the
    outputs are identical or the reference is all zeros (infinite either way; JSON has no infinity)."""
    noise = float(np.sum((actual - reference) ** 2))
    signal = float(np.sum(reference ** 2))
    if noise == 0.0 or signal == 0.0:
        return None
    return float(10.0 * np.log10(signal / noise))


def top_k_agreement(reference: np.ndarray, actual: np.ndarray) -> tuple[float | None, float | None]:
    """For classifier-shaped outputs (batch, classes): the fraction of rows whose arg-max class is the same
    (top-1), and whose reference class is among the actual five highest (top-5, from 6 classes on) — top-k
    accuracy with the reference's classes as labels. None for other outputs."""
    if reference.ndim != 2 or reference.shape[1] < 2 or not (np.isfinite(reference).all() and np.isfinite(actual).all()):
        return None, None
    top1 = float(np.mean(reference.argmax(1) == actual.argmax(1)))
    if reference.shape[1] < 6:
        return top1, None
    out5 = np.argsort(-actual, 1)[:, :5]
    top5 = float(np.mean((out5 == reference.argmax(1)[:, None]).any(1)))
    return top1, top5


def worst(outputs: list[OutputComparison], key: str) -> float | None:
    """The largest value of `key` (max_abs, max_rel, min_passing_atol, ...) over outputs that have one."""
    values = [getattr(o, key) for o in outputs if getattr(o, key) is not None]
    return max(values) if values else None


class WorstOverOutputs:
    """Headline numbers of a result holding output comparisons in `self.outputs`: the worst case over them."""

    outputs: list[OutputComparison]

    @property
    def max_abs(self) -> float | None:
        return worst(self.outputs, "max_abs")

    @property
    def max_rel(self) -> float | None:
        return worst(self.outputs, "max_rel")

    @property
    def min_passing_atol(self) -> float | None:
        return worst(self.outputs, "min_passing_atol")

    def headline(self) -> dict:
        return {"max_abs": self.max_abs, "max_rel": self.max_rel, "min_passing_atol": self.min_passing_atol}


ToleranceFor = Callable[[str], Tolerance]


def compare_outputs(
    expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray], tolerance_for: ToleranceFor | None = None
) -> list[OutputComparison]:
    """Compare every expected output by name; a missing or unexpected output is a failed row."""
    tolerance_for = tolerance_for or (lambda dtype: DEFAULT_TOLERANCES.get(dtype, Tolerance(0.0, 0.0)))
    rows = []
    for name, ref in expected.items():
        tolerance = tolerance_for(str(ref.dtype))
        if name not in actual:
            rows.append(_failed(name, ref, None, tolerance, "output missing"))
        else:
            rows.append(compare_output(name, ref, actual[name], tolerance))
    for name in actual:
        if name not in expected:
            rows.append(_failed(name, None, actual[name], Tolerance(0.0, 0.0), "unexpected output"))
    return rows


def merge(rows_per_input: list[list[OutputComparison]]) -> list[OutputComparison]:
    """Worst case over several input sets, per output: max errors, min cosine, any failure fails."""
    merged: dict[str, OutputComparison] = {}
    for rows in rows_per_input:
        for row in rows:
            current = merged.get(row.name)
            if current is None:
                merged[row.name] = OutputComparison(**{**asdict(row), "samples": 1})
                continue
            current.samples += 1
            if not row.passed and current.passed:
                current.passed, current.reason = False, row.reason
            for key in ("max_abs", "p99_abs", "max_rel", "mismatch_fraction", "min_passing_atol", "mean_abs",
                        "ref_mean_abs"):
                values = [v for v in (getattr(current, key), getattr(row, key)) if v is not None]
                setattr(current, key, max(values) if values else None)
            for key in ("cosine", "sqnr_db", "top1_agreement", "top5_agreement"):  # smaller is worse
                values = [v for v in (getattr(current, key), getattr(row, key)) if v is not None]
                setattr(current, key, min(values) if values else None)
            if row.nonfinite_match is False:
                current.nonfinite_match = False
    return list(merged.values())
