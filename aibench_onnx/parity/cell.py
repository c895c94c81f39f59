"""The one parity result: a cell is one subject's graph run by one graph runtime on one provider x level x
precision, judged against its reference. A zoo model, a user's framework model and a user's ONNX file all
produce this record (the file's subject is the file; it has no framework nor exporter), and one blame logic
reads it: did the optimizer change numerics, or does the graph itself differ?"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aibench_onnx.jsonio import known_fields
from aibench_onnx.parity.engine import OutputComparison, WorstOverOutputs
from aibench_onnx.runtimes import REFERENCE
from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import FP32

BLAME_OPTIMIZER = "graph optimization changed numerics (level 'disabled' passes, 'all' fails)"
BLAME_GRAPH = "the exported graph itself differs (fails with optimizations disabled too)"


@dataclass
class ParityCell(WorstOverOutputs):
    """One subject x graph x runtime x provider x optimization level x precision."""

    model: str  # the subject: a zoo model, a user's model, or an ONNX file's name
    size: str
    framework: str  # the graph's name (a framework, or torch-script); "" for a user's ONNX file
    exporter: str  # "" for a user's ONNX file
    ep: str
    opt_level: str
    status: str  # passed | failed | export_failed | known_failure | ep_unavailable | unavailable | error
    reason: str = ""
    blame: str = ""
    outputs: list[OutputComparison] = field(default_factory=list)
    cases: dict[str, dict] = field(default_factory=dict)  # case (input set) -> {"passed", "max_abs", "atol", ...}
    providers: list[str] = field(default_factory=list)
    input_casts: list[str] = field(default_factory=list)
    audit: dict | None = None  # nodes per provider and Memcpy nodes, from ORT's profiling
    tf32: bool = False  # the CUDA provider ran with TF32 (--tf32); float32 is judged with TF32 tolerances
    precision: str = FP32  # the graph that ran: the export itself, or its fp16 / int8 variant
    localization: dict | None = None  # a failing reduced-precision cell: where its error enters (precision_profile)
    inherent: dict | None = None  # fp16: the framework's own fp16 run against its fp32 run (what the precision costs)
    # the graph runtime that ran it (runtimes.GRAPH_RUNTIMES); its level "default" if it has none
    runtime: str = REFERENCE
    divergence: dict | None = None  # a failing cell: the first node whose value differs (parity/localize.py)
    adjudication: dict | None = None  # reference = onnx's evaluator: whom a third executor backs (adjudicate.py)
    failing_sets: list[int] = field(default_factory=list)  # input sets (0-based) where an output mismatched
    timing: dict | None = None  # `check --bench`: the cell's latency
    repro: dict | None = None  # `check --repro`: the reproduction bundle written for it (parity/repro/bundle.py)
    repair: dict | None = None  # `check --repair`: the nodes a failing variant keeps in fp32 to pass (parity/repair.py)
    node_data: dict | None = None  # `check --node-data`: Model Explorer files for it and the command opening them
    refusal: str = ""  # the runtime refused to load the graph as given: its reason (then no node is localized)

    @classmethod
    def of_file(cls, ep: str, opt_level: str, status: str, reason: str = "", **fields) -> ParityCell:
        """A cell of a user's ONNX file (`aibench check`): the subject is named once the check knows it."""
        return cls("", "", "", "", ep, opt_level, status, reason, **fields)

    def to_dict(self) -> dict:
        return {**asdict(self), **self.headline()}

    @classmethod
    def from_dict(cls, data: dict) -> ParityCell:
        """From its JSON (a run's stored parity result): the headline numbers are computed again from the
        outputs; a run from before a field was added reads with that field's default."""
        known = known_fields(cls, data)
        known["outputs"] = [OutputComparison.from_dict(o) for o in data.get("outputs") or []]
        known["precision"] = known.get("precision") or FP32  # runs from before precisions: the export itself
        return cls(**known)


@dataclass
class ExportParity:
    """Everything about one subject x graph: the export record and its cells (a zoo model's, a user's model's)."""

    model: str
    size: str
    framework: str
    export: dict | None
    cells: list[ParityCell]
    variants: dict[str, dict] = field(default_factory=dict)  # precision -> the variant's record (converted, size)

    def to_dict(self) -> dict:
        return {"model": self.model, "size": self.size, "framework": self.framework, "export": self.export,
                "variants": self.variants, "cells": [c.to_dict() for c in self.cells]}

    @classmethod
    def from_dict(cls, data: dict) -> ExportParity:
        return cls(data["model"], data.get("size", ""), data["framework"], data.get("export"),
                   [ParityCell.from_dict(c) for c in data.get("cells", [])], data.get("variants") or {})


def assign_blame(cells: list[ParityCell]) -> None:
    """Per runtime, precision and provider: did the optimizer change numerics, or does the graph itself
    differ? Needs both levels `disabled` and `all` of the same graph. Assigned afresh: a status changed since
    (a known failure) changes the blame."""
    by_ep: dict[tuple[str, str, str], dict[str, ParityCell]] = {}
    for cell in cells:
        cell.blame = ""
        by_ep.setdefault((cell.runtime, cell.precision, cell.ep), {})[cell.opt_level] = cell
    for levels in by_ep.values():
        disabled, full = levels.get("disabled"), levels.get("all")
        if not disabled or not full:
            continue
        if full.status == Status.FAILED and disabled.status == Status.PASSED:
            full.blame = BLAME_OPTIMIZER
        elif full.status == Status.FAILED and disabled.status == Status.FAILED:
            full.blame = disabled.blame = BLAME_GRAPH
