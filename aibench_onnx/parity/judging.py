"""The one verdict of parity: a graph's outputs on named input sets against their reference outputs, under a
tolerance policy. A zoo model's cases (seeded draws, other batches, zeros, large magnitudes with a scaled
atol and the model's own tolerances), a user's model's test data and a file's input sets are all input sets
judged here; check_onnx (parity/check.py) is the one engine that runs the graphs and calls it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np

from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.parity.engine import OutputComparison, compare_outputs, merge, worst
from aibench_onnx.parity.precision import BEYOND_CALIBRATION, for_case, judge
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32, PrecisionJudgement, judgements_per_output
from aibench_onnx.zoo.spec import DEFAULT_TOLERANCES, TF32_TOLERANCE
from aibench_onnx.zoo.tolerance import Tolerance

JudgementFor = Callable[[str], PrecisionJudgement]  # output name -> its reduced-precision judgement


@dataclass(frozen=True)
class InputSet:
    """One input set: its name (a zoo case such as "seed0" or "large"; a file's sets are numbered "0", "1", ...),
    its inputs, the reference outputs stored with it (None: computed by the engine), and how far its magnitudes
    were scaled up — float32 accumulation error grows with the data, so its atol is scaled alike, and the set is
    judged on its own, out of the headline numbers."""

    name: str
    feed: dict[str, np.ndarray]
    expected: dict[str, np.ndarray] | None = None
    atol_scale: float = 1.0

    @property
    def natural(self) -> bool:
        return self.atol_scale == 1.0

    def shapes(self) -> str:
        return ", ".join(f"{name} {list(array.shape)}" for name, array in self.feed.items())


@dataclass(frozen=True)
class TolerancePolicy:
    """What an output is held to: an fp32 graph's outputs to their dtype's tolerance (a zoo model's own where its
    spec states one, with the reason; else the defaults), widened to TF32's on a TF32 CUDA run; a reduced-precision
    graph's to its precision's judgement (a model's override for it or for one output, then the verdict
    statistic the user chose per output)."""

    tolerances: dict[str, Tolerance] = field(default_factory=dict)  # dtype -> the model's own
    precision_judgements: dict[str, PrecisionJudgement] = field(default_factory=dict)  # "fp16", "fp16/logits"
    error_stats: dict[str, str] = field(default_factory=dict)  # output ("" every output) -> verdict statistic

    def with_error_stats(self, error_stats: dict[str, str] | None) -> TolerancePolicy:
        return replace(self, error_stats={**self.error_stats, **(error_stats or {})})

    def tolerance(self, dtype: str, atol_scale: float = 1.0, tf32: bool = False) -> Tolerance:
        """An fp32 graph's tolerance for outputs of `dtype`, on a set scaled `atol_scale` times."""
        base = self.tolerances.get(dtype) or DEFAULT_TOLERANCES.get(dtype, Tolerance(0.0, 0.0))
        if tf32 and dtype == "float32":
            base = Tolerance(max(base.rtol, TF32_TOLERANCE.rtol), max(base.atol, TF32_TOLERANCE.atol),
                             TF32_TOLERANCE.reason)
        if atol_scale == 1.0:
            return base
        return Tolerance(base.rtol, base.atol * atol_scale,
                         f"{base.reason}; atol x{atol_scale:g} for inputs x{atol_scale:g}")

    def judgements(self, precision: str) -> JudgementFor:
        return judgements_per_output(precision, self.error_stats, self.precision_judgements)

    def to_dict(self) -> dict:
        return {"tolerances": {dtype: asdict(t) for dtype, t in self.tolerances.items()},
                "precision_judgements": {key: asdict(j) for key, j in self.precision_judgements.items()},
                "error_stats": dict(self.error_stats)}

    @classmethod
    def from_dict(cls, data: dict) -> TolerancePolicy:
        return cls({dtype: Tolerance(**t) for dtype, t in (data.get("tolerances") or {}).items()},
                   {key: PrecisionJudgement(**j) for key, j in (data.get("precision_judgements") or {}).items()},
                   dict(data.get("error_stats") or {}))


def compare_set(input_set: InputSet, expected: dict[str, np.ndarray], actual: dict[str, np.ndarray],
                policy: TolerancePolicy, precision: str = FP32, tf32: bool = False) -> list[OutputComparison]:
    """One input set's outputs against the reference, each output judged by `policy` (a reduced-precision graph:
    its precision's band whatever the dtype, then its judgement per output)."""
    scale = input_set.atol_scale
    if precision == FP32:
        return compare_outputs(expected, actual, lambda dtype: policy.tolerance(dtype, scale, tf32))
    judgement_for = policy.judgements(precision)
    rows = compare_outputs(expected, actual, lambda dtype: judgement_for("").band(scale))
    return [judge(row, for_case(judgement_for(row.name), scale)) for row in rows]


def judge_sets(cell: ParityCell, sets: list[InputSet], expected: list[dict[str, np.ndarray]],
               outputs: list[dict[str, np.ndarray]], policy: TolerancePolicy) -> None:
    """Judge a runtime's `outputs` against `expected` over every input set and state the cell's verdict: its
    headline numbers merge the natural-scale sets; `cases` holds each set's own result by name, `failing_sets`
    the failing ones by position. A set that fails makes the cell fail — except a scaled-up set for a precision
    calibrated on natural-scale data (int8-static), whose large inputs lie beyond its calibration by design."""
    per_set = [compare_set(input_set, reference, actual, policy, cell.precision, cell.tf32)
               for input_set, reference, actual in zip(sets, expected, outputs)]
    cell.outputs = merge([rows for input_set, rows in zip(sets, per_set) if input_set.natural])
    cell.cases, cell.failing_sets = {}, []
    for index, (input_set, rows) in enumerate(zip(sets, per_set)):
        failing = [row for row in rows if not row.passed]
        cell.cases[input_set.name] = {"passed": not failing, "max_abs": worst(rows, "max_abs"),
                                      "atol": rows[0].atol if rows else None,
                                      "reason": f"{failing[0].name}: {failing[0].reason}" if failing else ""}
        if failing and (input_set.natural or cell.precision not in BEYOND_CALIBRATION):
            cell.failing_sets.append(index)
    if cell.failing_sets:
        cell.status, cell.reason = Status.FAILED, _verdict(cell, sets, per_set, expected, outputs)


def _verdict(cell: ParityCell, sets: list[InputSet], per_set: list[list[OutputComparison]],
             expected: list[dict], outputs: list[dict]) -> str:
    """The first failing set's first failing output, then which sets failed: named with their shapes when the
    first set passes at other sizes (a size the export never saw), listed when there are several; for an fp32
    graph failing on the first set, where the output differs."""
    first = cell.failing_sets[0]
    names = [sets[index].name for index in cell.failing_sets]
    reason = cell.cases[sets[first].name]["reason"]
    if first > 0 and sets[first].shapes() != sets[0].shapes():
        only = "only" if len(names) == 1 else "and " + ", ".join(names[1:])
        return f"{reason} (input set {names[0]} {only}: {sets[first].shapes()}; set {sets[0].name} passes)"
    if len(sets) > 1:
        reason += f" (input sets: {', '.join(names)})"
    if cell.precision == FP32 and first == 0:
        row = next(row for row in per_set[0] if not row.passed)
        locus = _locus(row, expected[0], outputs[0], sets[0].feed)
        reason += f"; {locus}" if locus else ""
    return reason


def _locus(row: OutputComparison, expected: dict, actual: dict, feed: dict[str, np.ndarray]) -> str | None:
    """Where output `row` differs on an input set (parity/locus.py), in its own tolerance."""
    from aibench_onnx.parity.locus import describe_locus, mismatch_rows

    if expected is None or row.name not in expected or row.name not in actual:
        return None
    rows = mismatch_rows(np.asarray(expected[row.name]), np.asarray(actual[row.name]), Tolerance(row.rtol, row.atol))
    return describe_locus(rows, feed) if rows is not None else None
