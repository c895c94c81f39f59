"""Explain where the time of an effect goes: profile both sides in a pass of its own (ort/profile.py), map
nodes to their sources and to what the optimizer made of them (graph_map.py), split the difference
(attribute.py) and rate each operator type against this machine's peaks (cost.py).

Explained: effects between two ONNX Runtime configurations — exporter (two graphs, one provider and level),
optimizer (one graph, two levels), precision (the graph and its variant), runtime between two providers of
one graph. A native runtime against a graph, or another graph runtime (OpenVINO), is stated as not explained
here, with why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.explain.attribute import Attribution, attribute
from aibench_onnx.explain.cost import measure_peaks, rates
from aibench_onnx.explain.graph_map import (
    FusionLedger,
    fusion_ledger,
    node_sources,
    optimized_sources,
    with_node_names,
)
from aibench_onnx.keys import ORT_RUNTIME, RuntimeConfig
from aibench_onnx.ort.profile import GraphProfile, interleaved_latencies, profile_graph

EXPLAIN_SCHEMA_VERSION = 1
EXPLAINED_KINDS = ("exporter", "optimizer", "precision", "runtime")


@dataclass
class Explanation:
    subject: str  # the model (and batch) or the files
    kind: str
    attribution: Attribution
    ledgers: dict[str, dict]  # side label -> FusionLedger as a dict
    rates: dict[str, dict]  # side label -> op type -> rates (CPU: against this machine's peaks)
    effect: dict | None = None  # the timed effect this explains (ratio, CI, verdict), when there is one
    wall_s: float = 0.0

    def line(self) -> str:
        timed = f" (timed: {self.effect['verdict']})" if self.effect else ""
        return f"{self.subject}, {self.attribution.line()}{timed}" + "".join(f"; {d}" for d in self.fusion_differences())

    def fusion_differences(self) -> list[str]:
        """Fusions one side's optimizer made and the other's did not (an exporter effect read as "this graph
        got fusion X and that one did not"; for an optimizer effect, what the higher level did)."""
        sides = [self.attribution.baseline, self.attribution.candidate]
        patterns = {side: {f["pattern"].split(" -> ")[1]: f["count"] for f in self.ledgers.get(side, {}).get("fusions", [])
                           if "+" in f["pattern"].split(" -> ")[0]}  # several nodes into one: a fusion
                    for side in sides}
        found = []
        for side, other in (sides, sides[::-1]):
            only = [f"{op} ×{n}" for op, n in patterns[side].items() if op not in patterns[other]]
            if only and self.ledgers.get(side):
                found.append(f"fused only in {side}: {', '.join(only[:4])}")
        return found

    def to_dict(self) -> dict:
        return {"subject": self.subject, "kind": self.kind, "line": self.line(), "effect": self.effect,
                "attribution": self.attribution.to_dict(), "ledgers": self.ledgers, "rates": self.rates,
                "wall_s": self.wall_s}


@dataclass
class NotExplained:
    subject: str
    baseline: str
    candidate: str
    reason: str

    def to_dict(self) -> dict:
        return {"subject": self.subject, "baseline": self.baseline, "candidate": self.candidate,
                "not_explained": self.reason}


@dataclass
class Profiler:
    """Profiles of one explain session, each taken once (an effect's sides are often another effect's)."""

    threads: int
    workdir: Path
    profiles: dict[tuple, tuple[GraphProfile, dict[str, str], FusionLedger | None]] = field(default_factory=dict)
    peaks: dict | None = None

    def side(self, path: str, ep: str, level: str, feed: dict[str, np.ndarray]):
        """(profile, node name -> source, fusion ledger) of `path` on `ep` at `level`."""
        import onnx

        key = (str(path), ep, level, tuple((k, v.shape) for k, v in feed.items()))
        if key not in self.profiles:
            folder = self.workdir / f"profile-{len(self.profiles)}"
            profile = profile_graph(path, ep, level, self.threads, feed, folder)
            original = with_node_names(onnx.load(str(path), load_external_data=False))
            if profile.optimized_path:
                optimized = with_node_names(onnx.load(profile.optimized_path, load_external_data=False))
                sources, ledger = optimized_sources(original, optimized), fusion_ledger(original, optimized, level)
            else:
                sources, ledger = node_sources(original), None
            self.profiles[key] = (profile, sources, ledger)
        return self.profiles[key]

    def rates(self, profile: GraphProfile) -> dict:
        if profile.ep != "cpu":
            return {}  # peaks are measured for the CPU provider only
        if self.peaks is None:
            self.peaks = measure_peaks(self.threads)
        return rates(profile.nodes, self.peaks)


def explain_pair(subject: str, kind: str, baseline: tuple[str, str, str, str], candidate: tuple[str, str, str, str],
                 feed: dict[str, np.ndarray], profiler: Profiler, effect: dict | None = None) -> Explanation:
    """`baseline`, `candidate`: (label, graph path, provider, level)."""
    started = time.perf_counter()
    sides = []
    for label, path, ep, level in (baseline, candidate):
        sides.append((label, *profiler.side(path, ep, level, feed)))
    (base_label, base, base_sources, base_ledger), (cand_label, cand, cand_sources, cand_ledger) = sides
    # the two sides' latencies again, side by side in alternating blocks: what the difference is taken on
    latencies = interleaved_latencies([baseline[1:], candidate[1:]], profiler.threads, feed)
    base, cand = (replace(profile, latency_us=latency) for profile, latency in zip((base, cand), latencies))
    found = attribute(kind, base_label, cand_label, base, cand, base_sources, cand_sources)
    ledgers = {label: ledger.to_dict() for label, _, _, ledger in sides if ledger is not None}
    return Explanation(subject, kind, found, ledgers, {base_label: profiler.rates(base), cand_label: profiler.rates(cand)},
                       effect, round(time.perf_counter() - started, 2))


def significant(effect: dict) -> bool:
    return effect.get("verdict", "").endswith(("faster", "slower"))


def explain_effects(subject: str, effects: list[dict], graph_path: Callable[[RuntimeConfig], str | None],
                    feed_at: Callable[[int], dict[str, np.ndarray]], profiler: Profiler,
                    every: bool = False) -> list[Explanation | NotExplained]:
    """Each significant effect (every effect with `every`) of one model: explained, or why not. `graph_path`:
    the graph a configuration runs; `feed_at(batch)`: the model's inputs at a batch size."""
    found: list[Explanation | NotExplained] = []
    for effect in effects:
        if not (every or significant(effect)):
            continue
        base, cand = RuntimeConfig.from_label(effect["baseline"]), RuntimeConfig.from_label(effect["candidate"])
        name = f"{subject} b{effect['batch']}"
        reason = _why_not(effect["kind"], base, cand)
        paths = (graph_path(base), graph_path(cand)) if not reason else (None, None)
        if not reason and not all(paths):
            reason = "its graph is not on disk any more (explain needs the run's or bench's exports)"
        if reason:
            found.append(NotExplained(name, base.label, cand.label, reason))
            continue
        try:
            found.append(explain_pair(name, effect["kind"], (base.label, paths[0], base.ep, base.opt_level),
                                      (cand.label, paths[1], cand.ep, cand.opt_level), feed_at(effect["batch"]),
                                      profiler, effect))
        except Exception as exc:  # noqa: BLE001 - one effect's failure is its result; the others go on
            found.append(NotExplained(name, base.label, cand.label,
                                      f"profiling failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
    return found


def _why_not(kind: str, base: RuntimeConfig, cand: RuntimeConfig) -> str:
    if kind not in EXPLAINED_KINDS:
        return f"{kind} effects are not explained"
    if base.kind != ORT_RUNTIME or cand.kind != ORT_RUNTIME:
        other = base if base.kind != ORT_RUNTIME else cand
        if not other.runs_graph:
            return (f"{other.label} is a native runtime: its operators are not profiled yet (torch's profiler "
                    "would give them; TF and JAX expose no per-operator table aibench reads)")
        return f"{other.kind} is not profiled yet (its per-layer counters are the next step)"
    if not (base.io_binding and cand.io_binding) or base.cuda_graph or cand.cuda_graph:
        return "IO binding and CUDA graph replay change what is around the nodes, not the nodes: nothing to split"
    return ""
