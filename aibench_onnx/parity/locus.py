"""Where a failing output differs: which rows (all axes but the last) hold its mismatches, and whether they are
exactly the positions an input marks — an attention mask's zeros, i.e. padding. "160 of 768 elements differ"
becomes "only at 5 of 24 rows: batch 0 positions 0-4, exactly where attention_mask is 0"."""

from __future__ import annotations

import numpy as np

from aibench_onnx.zoo.tolerance import Tolerance


def mismatch_rows(expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance) -> np.ndarray | None:
    """A boolean array over all axes but the last: the rows holding a mismatch (or a misplaced NaN/Inf). None
    when the output has fewer than two axes, another shape, or is not a float."""
    if expected.shape != actual.shape or expected.ndim < 2 or expected.dtype.kind != "f":
        return None
    ref, out = expected.astype(np.float64), actual.astype(np.float64)
    with np.errstate(invalid="ignore"):
        wrong = np.abs(out - ref) > tolerance.atol + tolerance.rtol * np.abs(ref)
    wrong |= np.isnan(ref) != np.isnan(out)
    return wrong.any(axis=-1)


def _ranges(indices: list[int]) -> str:
    """[0, 1, 2, 4] -> '0-2, 4'."""
    parts, start = [], None
    for index, value in enumerate(indices):
        if start is None:
            start = value
        if index + 1 == len(indices) or indices[index + 1] != value + 1:
            parts.append(f"{start}" if start == value else f"{start}-{value}")
            start = None
    return ", ".join(parts)


def describe_locus(rows: np.ndarray, feed: dict[str, np.ndarray]) -> str | None:
    """One line saying where the mismatching rows are, or None when every row mismatches (nothing to say)."""
    total, wrong = rows.size, int(rows.sum())
    if wrong == 0 or wrong == total:
        return None
    if rows.ndim == 1:
        where = f"positions {_ranges(np.flatnonzero(rows).tolist())} of axis 0"
    else:
        flat = rows.reshape(rows.shape[0], -1)
        where = "; ".join(f"batch {b} positions {_ranges(np.flatnonzero(flat[b]).tolist())}"
                          for b in range(flat.shape[0]) if flat[b].any())
    text = f"differs only at {wrong} of {total} rows ({where})"
    for name, array in feed.items():  # an input marking positions of the same shape: a mask
        if array.shape != rows.shape or array.dtype.kind not in "biu":
            continue
        masked = array == 0
        if masked.any() and np.array_equal(rows, masked):
            return f"{text}, exactly where {name} is 0 (padding)"
        if masked.any() and not (rows & ~masked).any():
            return f"{text}, all where {name} is 0 (padding)"
    return text
