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
from typing import Callable, NamedTuple

import numpy as np

from aibench_onnx.explain.attribute import Attribution, attribute, split_run
from aibench_onnx.explain.cost import measure_peaks, rates
from aibench_onnx.explain.graph_map import (
    FusionLedger,
    fusion_ledger,
    node_sources,
    optimized_sources,
    origins,
    with_node_names,
)
from aibench_onnx.explain.latency import side_by_side, timed_call
from aibench_onnx.explain.node_time import exported_node_times
from aibench_onnx.keys import RuntimeConfig, effect_sides
from aibench_onnx.ort.profile import profile_graph
from aibench_onnx.profiles import GraphProfile
from aibench_onnx.runtimes import REFERENCE, is_reference, profiled
from aibench_onnx.subjects import Subject

EXPLAIN_SCHEMA_VERSION = 1
EXPLAINED_KINDS = ("exporter", "optimizer", "precision", "runtime")
REPRODUCED_WITHIN = 1.5  # this pass's ratio against the timed one, the same way round


@dataclass
class Explanation:
    subject: str  # the model (and batch) or the files
    kind: str
    attribution: Attribution
    ledgers: dict[str, dict]  # side label -> FusionLedger as a dict
    rates: dict[str, dict]  # side label -> op type -> rates (CPU: against this machine's peaks)
    effect: dict | None = None  # the timed effect this explains (ratio, CI, verdict), when there is one
    wall_s: float = 0.0
    # side label -> {"graph": its exported graph, "us": {exported node's output tensor: µs}} (node_time.py)
    node_times: dict[str, dict] = field(default_factory=dict)

    def line(self) -> str:
        timed = f" (timed: {self.effect['verdict']})" if self.effect else ""
        text = f"{self.subject}, {self.attribution.line()}{timed}" + "".join(f"; {d}" for d in self.fusion_differences())
        doubt = self.reproduction()
        return text + (f" — {doubt}" if doubt else "")

    def reproduction(self) -> str:
        """Whether the side-by-side measurement of this pass reproduces the timed effect: inside its CI, or the
        same direction within a factor of REPRODUCED_WITHIN (this pass calls `run`, the timing IO binding, in
        another process). Otherwise the split explains what this pass saw, and the timed effect itself is in
        doubt (processes that disagree, a neighbour: re-measure)."""
        if not self.effect or self.effect.get("ci_low") is None:
            return ""
        ratio, low, high = self.attribution.ratio, self.effect["ci_low"], self.effect["ci_high"]
        timed = self.effect["ratio"]
        same_way = (ratio - 1) * (timed - 1) > 0 and max(ratio / timed, timed / ratio) <= REPRODUCED_WITHIN
        if low <= ratio <= high or same_way:
            return ""
        return (f"NOT REPRODUCED: side by side here {ratio:.2f}×, timed {timed:.2f}× (CI {low:.2f}–{high:.2f}); "
                "the timed effect may be noise between its processes — re-measure before acting on it")

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
                "reproduced": not self.reproduction(),
                "attribution": self.attribution.to_dict(), "ledgers": self.ledgers, "rates": self.rates,
                "wall_s": self.wall_s, "node_times": self.node_times}


@dataclass
class NotExplained:
    subject: str
    baseline: str
    candidate: str
    reason: str

    def to_dict(self) -> dict:
        return {"subject": self.subject, "baseline": self.baseline, "candidate": self.candidate,
                "not_explained": self.reason}


class Side(NamedTuple):
    """One profiled configuration of a graph."""

    profile: GraphProfile
    sources: dict[str, str]  # profiled node name -> the source module it came from
    ledger: FusionLedger | None  # what the optimizer did (None: ORT could not write the graph it ran)
    origins: dict[str, list[str]]  # profiled node name -> output tensors of the exported nodes it computes


@dataclass
class Profiler:
    """Profiles of one explain session, each taken once (an effect's sides are often another effect's)."""

    threads: int
    workdir: Path
    profiles: dict[tuple, Side] = field(default_factory=dict)
    peaks: dict | None = None
    others: dict[tuple, GraphProfile] = field(default_factory=dict)  # other graph runtimes' and torch eager's

    def side(self, path: str, ep: str, level: str, feed: dict[str, np.ndarray]) -> Side:
        """`path` profiled on `ep` at `level`."""
        import onnx

        key = (str(path), ep, level, tuple((k, v.shape) for k, v in feed.items()))
        if key not in self.profiles:
            folder = self.workdir / f"profile-{len(self.profiles)}"
            profile = profile_graph(path, ep, level, self.threads, feed, folder)
            original = with_node_names(onnx.load(str(path), load_external_data=False))
            first_output = {node.name: node.output[0] for node in original.graph.node if node.output}
            if profile.optimized_path:
                optimized = with_node_names(onnx.load(profile.optimized_path, load_external_data=False))
                sources, ledger = optimized_sources(original, optimized), fusion_ledger(original, optimized, level)
                computes = origins(original, optimized)
            else:
                sources, ledger = node_sources(original), None
                computes = {name: [name] for name in first_output}
            self.profiles[key] = Side(profile, sources, ledger,
                                      {name: [first_output[n] for n in names if n in first_output]
                                       for name, names in computes.items()})
        return self.profiles[key]

    def other_runtime(self, kind: str, path: str, ep: str, feed: dict[str, np.ndarray]) -> GraphProfile:
        """Another graph runtime's per-node (per-layer) profile of `path` on `ep`, by its registry entry."""
        from aibench_onnx.runtimes import profiler

        key = (kind, str(path), ep, tuple((k, v.shape) for k, v in feed.items()))
        if key not in self.others:
            self.others[key] = profiler(kind)(path, ep, self.threads, feed)
        return self.others[key]

    def torch_eager(self, subject: Subject, batch: int) -> GraphProfile:
        """PyTorch eager's operators (torch.profiler), in a torch process of its own."""
        from aibench_onnx.explain.native import NativeProfileRequest
        from aibench_onnx.launch import run_worker

        key = ("torch-eager", repr(subject), batch)  # a Subject holds a dict (a user's model): not hashable
        if key not in self.others:
            self.workdir.mkdir(parents=True, exist_ok=True)
            outcome = run_worker("native_profile", NativeProfileRequest(subject, batch, self.threads), 900,
                                 self.workdir / f"native-{len(self.others)}.json")
            if not outcome.ok:
                raise RuntimeError(f"torch profiler: {outcome.reason}")
            self.others[key] = GraphProfile.from_dict(outcome.document["profile"])
        return self.others[key]

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
    sides = [profiler.side(path, ep, level, feed) for _, path, ep, level in (baseline, candidate)]
    labels = (baseline[0], candidate[0])
    # the two sides' timed calls again, side by side in alternating blocks: what the difference is taken on
    latencies = side_by_side([timed_call(REFERENCE, path, ep, level, profiler.threads, feed)
                              for _, path, ep, level in (baseline, candidate)])
    base, cand = (replace(side.profile, latency_us=latency) for side, latency in zip(sides, latencies))
    found = attribute(kind, *labels, base, cand, sides[0].sources, sides[1].sources)
    ledgers = {label: side.ledger.to_dict() for label, side in zip(labels, sides) if side.ledger is not None}
    node_times = {}
    for label, (_, path, _, _), side, profile in zip(labels, (baseline, candidate), sides, (base, cand)):
        node_us, _ = split_run(profile)  # as the attribution scales them: the node share of the latency
        scale = node_us / profile.node_sum_us if profile.node_sum_us else 1.0
        node_times[label] = {"graph": str(path), "us": exported_node_times(profile, side.origins, scale)}
    rates = {labels[0]: profiler.rates(base), labels[1]: profiler.rates(cand)}
    return Explanation(subject, kind, found, ledgers, rates, effect, round(time.perf_counter() - started, 2), node_times)


def significant(effect: dict) -> bool:
    return effect.get("verdict", "").endswith(("faster", "slower"))


def explain_effects(subject: Subject, effects: list[dict], graph_path: Callable[[RuntimeConfig], str | None],
                    profiler: Profiler, every: bool = False) -> list[Explanation | NotExplained]:
    """Each significant effect (every effect with `every`) of one subject: explained, or why not. `graph_path`:
    the graph a configuration runs."""
    found: list[Explanation | NotExplained] = []
    for effect in effects:
        if not (every or significant(effect)):
            continue
        base, cand = effect_sides(effect)
        name = f"{subject.name} b{effect['batch']}"
        reason = _why_not(effect["kind"], base, cand)
        paths = tuple(graph_path(c) if c.runs_graph else "native" for c in (base, cand)) if not reason else ()
        if not reason and not all(paths):
            reason = "its graph is not on disk any more (explain needs the run's or bench's exports)"
        if reason:
            found.append(NotExplained(name, base.label, cand.label, reason))
            continue
        try:
            feed = subject.arrays(effect["batch"])  # the inputs the timing used (seed 0)
            if base.kind == cand.kind == REFERENCE:  # one vocabulary: node by node, fusions on each side
                found.append(explain_pair(name, effect["kind"], (base.label, paths[0], base.ep, base.opt_level),
                                          (cand.label, paths[1], cand.ep, cand.opt_level), feed, profiler, effect))
            else:
                found.append(explain_runtimes(name, effect, base, cand, paths, feed, profiler,
                                              (subject, int(effect["batch"]))))
        except Exception as exc:  # noqa: BLE001 - one effect's failure is its result; the others go on
            found.append(NotExplained(name, base.label, cand.label,
                                      f"profiling failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
    return found


def explain_runtimes(name: str, effect: dict, base: RuntimeConfig, cand: RuntimeConfig, paths: tuple,
                     feed: dict[str, np.ndarray], profiler: Profiler, native: tuple[Subject, int]) -> Explanation:
    """Two runtimes that do not share ONNX Runtime's vocabulary — PyTorch eager (torch.profiler's aten
    operators) or OpenVINO (its layers) against ONNX Runtime, or OpenVINO against PyTorch: each side's own
    operators, and the split by operator family."""
    from aibench_onnx.explain.native import family

    started = time.perf_counter()
    profiles, ledgers, rates, notes, calls = {}, {}, {}, [], {}
    for config, path in zip((base, cand), paths):
        if is_reference(config.kind):
            profile, _, ledger, _ = profiler.side(path, config.ep, config.opt_level, feed)
            ledgers.update({config.label: ledger.to_dict()} if ledger is not None else {})
            rates[config.label] = profiler.rates(profile)
        elif config.runs_graph:
            profile = profiler.other_runtime(config.kind, path, config.ep, feed)
        else:
            profile = profiler.torch_eager(*native)
            notes.append(f"{config.label}'s latency was measured in its own process, not side by side")
        if config.runs_graph:
            calls[config.label] = timed_call(config.kind, path, config.ep, config.opt_level, profiler.threads, feed)
        profiles[config.label] = profile
    # each graph runtime's latency on its timed call (two of them side by side, as two ORT configurations are)
    latencies = side_by_side(list(calls.values()))
    profiles.update({label: replace(profiles[label], latency_us=latency) for label, latency in zip(calls, latencies)})
    families = {label: {n.name: family(n.op_type) for n in profile.nodes} for label, profile in profiles.items()}
    found = attribute(effect["kind"], base.label, cand.label, profiles[base.label], profiles[cand.label],
                      families[base.label], families[cand.label], grouping="operator family")
    found.notes += notes
    return Explanation(name, effect["kind"], found, ledgers, rates, effect, round(time.perf_counter() - started, 2))


def _why_not(kind: str, base: RuntimeConfig, cand: RuntimeConfig) -> str:
    if kind not in EXPLAINED_KINDS:
        return f"{kind} effects are not explained"
    if not (base.io_binding and cand.io_binding) or base.cuda_graph or cand.cuda_graph:
        return "IO binding and CUDA graph replay change what is around the nodes, not the nodes: nothing to split"
    for config in (base, cand):
        if config.runs_graph and not profiled(config.kind):
            return f"{config.kind} is not profiled yet"
        if not config.runs_graph and config.kind != "torch-eager":
            return (f"{config.label} runs compiled kernels (XLA, Inductor) or TF ops: no per-operator table "
                    "aibench reads yet (torch eager's is read with torch.profiler)")
    if not base.runs_graph and not cand.runs_graph:
        return "two native runtimes: not an ONNX effect"
    return ""
