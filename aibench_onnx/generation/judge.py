"""Judging a generation: logits of a path against a reference under a tolerance, token agreement with the
first divergence classified (a near-tie flip is rounding, not a defect), and the records they make."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aibench_onnx.generation.decoding import top2_margin

AGREE, NEAR_TIE, DIVERGED = "agree", "near-tie flip", "diverged"


@dataclass
class PathError:
    """Logits (or cache) of one path against a reference: |Δ| ≤ atol + rtol·|ref| everywhere passes."""

    what: str  # "prefill", "decode", "cache on vs off", "padded vs alone", "cache contents"
    max_abs: float
    worst_step: int | None  # the step (0 = prefill) with the largest error, where steps apply
    smallest_atol: float  # the atol that would have passed at this rtol
    rtol: float
    atol: float
    passed: bool
    per_step: list[float] | None = None  # max |Δ| per step

    def to_dict(self) -> dict:
        return asdict(self)


def path_error(what: str, actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
               step_axis: int | None = 1, step_offset: int = 0) -> PathError:
    """`actual` vs `expected`, same shape; `step_axis`: the axis that counts steps (per-step maxima)."""
    if actual.shape != expected.shape:
        return PathError(what, float("inf"), None, float("inf"), rtol, atol, False)
    actual64, expected64 = actual.astype(np.float64), expected.astype(np.float64)
    difference = np.abs(actual64 - expected64)
    difference = np.where(np.isnan(actual64) & np.isnan(expected64), 0.0, difference)
    difference = np.where(np.isnan(difference), np.inf, difference)
    if difference.size == 0:
        return PathError(what, 0.0, None, 0.0, rtol, atol, True, [])
    excess = difference - rtol * np.abs(expected64)
    per_step = None
    worst = None
    if step_axis is not None:
        axes = tuple(a for a in range(difference.ndim) if a != step_axis)
        per_step = [float(v) for v in difference.max(axis=axes)]
        worst = int(np.argmax(per_step)) + step_offset
    smallest = float(max(0.0, excess.max()))
    return PathError(what, float(difference.max()), worst, smallest, rtol, atol, smallest <= atol, per_step)


@dataclass
class Agreement:
    """A runtime's own greedy tokens against the reference's. `first_step`: the first step (0 = the token the
    prefill chose) where some row chose differently, with the reference's top-2 logit margin there and the
    runtime's logit error at that step (from the teacher-forced run, on the same sequence)."""

    kind: str  # agree | near-tie flip | diverged
    agreed: int  # (row, step) choices equal before each row's first divergence
    total: int
    first_step: int | None = None
    row: int | None = None
    reference_token: int | None = None
    chosen_token: int | None = None
    margin: float | None = None
    logit_error: float | None = None
    bound: float | None = None  # margins up to this are near ties: twice the tolerance at the top logit

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.kind == AGREE:
            return f"{self.agreed}/{self.total} tokens agree"
        where = f"step {self.first_step}, row {self.row}: {self.chosen_token} instead of {self.reference_token}"
        if self.kind == NEAR_TIE:
            return (f"near-tie flip at {where} (top-2 margin {self.margin:.2g} ≤ {self.bound:.2g}, logit error "
                    f"{self.logit_error:.2g}); {self.agreed}/{self.total} tokens agree before it")
        return (f"diverged at {where} (top-2 margin {self.margin:.3g}, logit error {self.logit_error:.3g}); "
                f"{self.agreed}/{self.total} tokens agree before it")


def agreement(reference_tokens: np.ndarray, reference_logits: np.ndarray, tokens: np.ndarray,
              forced_logits: np.ndarray, rtol: float, atol: float) -> Agreement:
    """Classify the first divergence of `tokens` from `reference_tokens` (both (batch, steps)).
    `forced_logits`: the runtime's logits on the reference's sequence (teacher-forced), so the error at the
    divergent step is measured on the same prefix. A flip is a near tie when the reference's top-2 margin is
    within twice the tolerance at its top logit (each of the two logits may move that far) and the step's
    logits are within tolerance — the runtime computed the same function and rounding chose the other token."""
    batch, steps = reference_tokens.shape
    differs = tokens != reference_tokens
    first_per_row = [int(np.argmax(row)) if row.any() else steps for row in differs]
    agreed = int(sum(first_per_row))
    if agreed == batch * steps:
        return Agreement(AGREE, agreed, batch * steps)
    step = min(first_per_row)
    row = first_per_row.index(step)
    expected = reference_logits[row, step].astype(np.float64)
    actual = forced_logits[row, step].astype(np.float64)
    error = float(np.abs(actual - expected).max())
    within = bool(np.all(np.abs(actual - expected) <= atol + rtol * np.abs(expected)))
    margin = float(top2_margin(expected))
    bound = 2.0 * (atol + rtol * float(np.abs(expected).max()))
    kind = NEAR_TIE if within and margin <= bound else DIVERGED
    return Agreement(kind, agreed, batch * steps, step, row, int(reference_tokens[row, step]), int(tokens[row, step]),
                     margin, error, bound)
