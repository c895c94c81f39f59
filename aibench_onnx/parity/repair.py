"""Precision repair: for a reduced-precision variant that fails its verdict, a small set of nodes to leave in
fp32 (fp16, bf16) or unquantized (int8) so that the verdict passes — Polygraphy's `debug precision` and
ModelOpt's AutoCast ask the same question.

1. Rank: every node the converter touches, by the error it *adds* — the SQNR of its output against the fp32
   graph's, below the worst SQNR of its inputs (the error it receives), from one pass over the variant's
   intermediates (parity/precision_profile.py). A node downstream of the culprit inherits its error; it does
   not add to it, so it ranks low.
2. Add greedily: leave the top 1, 2, 4, ... out until the rebuilt variant passes its verdict.
3. Prune: delta debugging (ddmin) over that set removes every node the pass does not need.
The repaired graph is written beside the variant (`model.PRECISION-repaired.onnx`).
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from aibench_onnx.parity.cell import ParityCell
from aibench_onnx.parity.repro.reduce import Feed
from aibench_onnx.status import Status

Verdict = Callable[[str], ParityCell]  # a variant's path -> its cell, judged as the failing one was


@dataclass
class Repair:
    precision: str
    status: str  # repaired | not_needed | not_found | failed
    kept: list[dict] = field(default_factory=list)  # {"node", "op_type", "source", "added_db"} left in fp32
    candidates: int = 0
    before: dict = field(default_factory=dict)  # the failing variant's verdict: reason, worst SQNR, cosine
    after: dict = field(default_factory=dict)  # the repaired variant's
    path: str | None = None
    tries: int = 0
    seconds: float = 0.0
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _verdict(cell: ParityCell) -> dict:
    sqnr = [o.sqnr_db for o in cell.outputs if o.sqnr_db is not None]
    cosine = [o.cosine for o in cell.outputs if o.cosine is not None]
    return {"status": str(cell.status), "reason": cell.reason, "sqnr_db": min(sqnr) if sqnr else None,
            "cosine": min(cosine) if cosine else None, "max_abs": cell.max_abs}


def rank_by_added_error(entries: list[dict], graph, candidates: list[tuple[str, str]]) -> list[tuple[str, str, float]]:
    """(name, op type, dB added) of each candidate node, most added first. A node's added error is the worst
    SQNR among its inputs minus its output's (an input not compared — a graph input, a weight — is exact)."""
    sqnr = {e["tensor"]: e["sqnr_db"] for e in entries if e["sqnr_db"] is not None}
    by_name = {node.name: node for node in graph.graph.node}
    ranked = []
    for name, op_type in candidates:
        node = by_name.get(name)
        out = next((sqnr[o] for o in node.output if o in sqnr), None) if node is not None else None
        if out is None:
            ranked.append((name, op_type, -math.inf))  # nothing known: tried last
            continue
        received = min((sqnr[i] for i in node.input if i in sqnr), default=math.inf)
        ranked.append((name, op_type, (min(received, 200.0) - out)))
    return sorted(ranked, key=lambda r: -r[2])


def repair_variant(fp32_path: str, variant_path: str, precision: str, calibration_files: list[str], directory: str,
                   feed: Feed, failing: ParityCell, judge_variant: Verdict, ep: str, level: str, threads: int,
                   max_tries: int = 60) -> Repair:
    """Find nodes to leave in fp32 so the variant of `fp32_path` (the failing one at `variant_path`, judged as
    `failing`) passes `judge_variant`; write the repaired variant into `directory`. `feed`: an input set the
    variant failed (its intermediates rank the nodes)."""
    from aibench_onnx.artifacts.variants import build_variant, variant_graph, variant_nodes
    from aibench_onnx.ort.session import ort_runner
    from aibench_onnx.parity.precision_profile import tensor_errors
    from aibench_onnx.parity.repro.bundle import source_of
    from aibench_onnx.parity.repro.reduce import ddmin

    started = time.perf_counter()
    found = Repair(precision, "failed", before=_verdict(failing))
    if failing.status != Status.FAILED:
        found.status, found.note = "not_needed", f"the {precision} variant is not failing ({failing.status})"
        return found
    candidates = variant_nodes(fp32_path, precision)
    found.candidates = len(candidates)
    if not candidates:
        found.status, found.note = "not_found", f"no node of this graph is converted to {precision}"
        return found
    import onnx

    graph = variant_graph(fp32_path, precision)
    with tempfile.TemporaryDirectory(prefix="aibench-repair-") as tmp:
        entries, _, _ = tensor_errors(graph, onnx.load(variant_path), feed, ort_runner("cpu", "disabled", threads),
                                      ort_runner(ep, level, threads))
        ranked = rank_by_added_error(entries, graph, candidates)
        added = {name: db for name, _, db in ranked}
        verdicts: dict[tuple[str, ...], ParityCell] = {}

        def passes(names: list[str]) -> bool:
            key = tuple(sorted(names))
            if key not in verdicts:
                if found.tries >= max_tries:
                    return False
                found.tries += 1
                built = build_variant(fp32_path, precision, calibration_files, tmp, exclude=key,
                                      suffix=f"-try{found.tries}")
                verdicts[key] = (judge_variant(built["path"]) if built["status"] == Status.OK else
                                 ParityCell.of_file(ep, level, Status.ERROR, built.get("reason", "")))
            return verdicts[key].status == Status.PASSED

        order = [name for name, _, _ in ranked]
        chosen, size = None, 1
        while chosen is None and found.tries < max_tries:
            if passes(order[:size]):
                chosen = order[:size]
            elif size >= len(order):
                break
            size = min(size * 2, len(order))
        if chosen is None:
            found.status = "not_found"
            found.note = (f"leaving all {len(order)} converted nodes in fp32 does not pass either" if
                          found.tries < max_tries else f"no passing set within {max_tries} rebuilds")
        else:
            kept = ddmin(chosen, passes)
            op_of = dict((name, op) for name, op in candidates)
            by_name = {node.name: node for node in graph.graph.node}
            found.kept = [{"node": name, "op_type": op_of[name], "source": source_of(by_name[name]),
                           "added_db": None if math.isinf(added[name]) else round(added[name], 2)} for name in kept]
            repaired = build_variant(fp32_path, precision, calibration_files, directory, exclude=tuple(kept),
                                     suffix="-repaired")
            found.path = repaired.get("path")
            found.after = _verdict(judge_variant(found.path))
            found.status = "repaired" if found.after["status"] == Status.PASSED else "failed"
            found.note = (f"{len(kept)} of {len(candidates)} converted nodes left in fp32"
                          + ("" if found.status == "repaired" else "; the rebuilt variant did not pass again"))
    found.seconds = round(time.perf_counter() - started, 3)
    return found
