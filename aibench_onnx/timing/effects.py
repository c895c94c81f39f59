"""Where the time goes: ratios between timed configurations, each with a bootstrap CI.

- exporter effect: the same function exported by torch vs tf vs jax (or by two exporters of one framework:
  torch-dynamo vs torch-script, or two ONNX files a user brought), on the same provider and level;
- optimizer effect: ORT level `disabled` -> `all` on the same graph;
- runtime effect: native eager vs ORT `disabled`, native compiled vs ORT `all` (on the native runtimes'
  device), provider vs provider, plain `run` vs IO binding, IO binding vs CUDA graph replay; ORT vs another
  graph runtime (OpenVINO) on the same graph and device, and native compiled vs that runtime;
- precision effect: the fp32 graph vs its fp16 / int8 variant on the same provider and level.
A ratio > 1 means the second configuration is slower. Inside the noise it is "no significant difference".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aibench_onnx.frameworks import FRAMEWORKS, framework_of
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import REFERENCE, other_graph_runtimes, top_level
from aibench_onnx.timing.processes import Slots, compare_interleaved, compare_replicates


@dataclass
class Effect:
    batch: int
    kind: str  # exporter | optimizer | runtime | precision
    baseline: str
    candidate: str
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str
    mde: float | None = None  # the smallest relative difference these processes could have detected
    processes: list[int] | None = None  # [baseline, candidate]
    method: str = ""  # how processes were counted (timing/processes.py)
    round_level_mde: float | None = None  # what pairing whole processes by round alone could have detected
    family: int = 1  # effects judged together (Benjamini-Hochberg over them, timing/multiplicity.py)
    # the two sides as typed keys (`baseline`, `candidate` are their labels, for display): readers take these,
    # never parse a label back (keys.effect_sides; documents from before them: their labels)
    baseline_config: RuntimeConfig | None = None
    candidate_config: RuntimeConfig | None = None

    def to_dict(self) -> dict:
        configs = {"baseline_config": self.baseline_config, "candidate_config": self.candidate_config}
        return {**{k: v for k, v in asdict(self).items() if k not in configs},
                **{k: c.to_dict() if c is not None else None for k, c in configs.items()}}


Samples = dict[int, dict[int, list[float]]]  # batch -> round -> per-call seconds of the process of that round
SlotMedians = dict[int, Slots]  # batch -> round -> cycle -> slot median (interleaved rounds)


NOT_DISCOVERED = "no significant difference"


def control_discoveries(effects: list[Effect]) -> list[Effect]:
    """The verdicts of effects reported together, under Benjamini-Hochberg (false discovery rate 5 %): an
    effect significant alone but not among the discoveries of its family reads "no significant difference"."""
    from aibench_onnx.timing.multiplicity import benjamini_hochberg

    discovered = benjamini_hochberg([effect.p_value for effect in effects])
    for effect, kept in zip(effects, discovered):
        effect.family = len(effects)
        if not kept:
            effect.verdict = NOT_DISCOVERED
    return effects


def _unique(values) -> list:
    return list(dict.fromkeys(values))


def compute_effects(configs: list[RuntimeConfig], samples: dict[RuntimeConfig, Samples],
                    native_device: str = "cpu", slots: dict[RuntimeConfig, SlotMedians] | None = None) -> list[Effect]:
    """The effects among one model's timed configurations. `configs`: every configuration planned for it, in
    plan order (the first graph is the exporter effects' reference); `samples`: those that were measured.
    Only pairs that both ran appear; pairs are compared by their interleaved slots where `slots` has them
    (timing/processes.compare_interleaved), else round by round on process medians. Native
    runtimes are compared with the reference graph runtime (ORT) on the provider of their own device (cuda for
    --device cuda). Other runtimes of the same graphs (OpenVINO) are compared with the reference at its highest
    level timed, on each provider they share, and with the native compiled runtimes."""
    reference_configs = [c for c in configs if c.kind == REFERENCE]
    if not reference_configs:
        return []
    frameworks = _unique(c.framework for c in reference_configs)
    eps, levels = _unique(c.ep for c in reference_configs), _unique(c.opt_level for c in reference_configs)
    precisions = _unique(c.precision for c in reference_configs)
    graph_runtimes = other_graph_runtimes(c.kind for c in configs)
    native = RuntimeConfig.native

    def ref(graph: str, ep: str, level: str, **options) -> RuntimeConfig:  # the reference runtime's configuration
        return RuntimeConfig.graph_runtime(REFERENCE, graph, ep, level, **options)

    effects: list[Effect] = []

    def add(kind: str, baseline: RuntimeConfig, candidate: RuntimeConfig) -> None:
        for batch in sorted(set(samples.get(baseline, {})) & set(samples.get(candidate, {}))):
            by_round = compare_replicates(samples[baseline][batch], samples[candidate][batch], paired=True)
            paired_slots = [(slots or {}).get(config, {}).get(batch) for config in (baseline, candidate)]
            found = compare_interleaved(*paired_slots) if all(paired_slots) else None
            found = found or by_round
            effects.append(Effect(batch, kind, baseline.label, candidate.label, found.ratio, found.ci_low,
                                  found.ci_high, found.p_value, found.verdict, found.mde, found.processes,
                                  found.method, by_round.mde, baseline_config=baseline, candidate_config=candidate))

    reference = frameworks[0]
    for ep in eps:
        for level in levels:
            for framework in frameworks[1:]:
                add("exporter", ref(reference, ep, level), ref(framework, ep, level))
    native_ep = "cuda" if native_device == "cuda" else "cpu"
    for framework in frameworks:
        own = FRAMEWORKS.get(framework_of(framework))  # None: a user's ONNX file, with no native model
        for ep in eps:
            if "disabled" in levels and "all" in levels:
                add("optimizer", ref(framework, ep, "disabled"), ref(framework, ep, "all"))
            for level in levels:
                add("runtime", ref(framework, ep, level, io_binding=False), ref(framework, ep, level))
                add("runtime", ref(framework, ep, level), ref(framework, ep, level, cuda_graph=True))
                for precision in precisions:
                    if precision != "fp32":
                        add("precision", ref(framework, ep, level), ref(framework, ep, level, precision=precision))
        if own is not None and own.eager:
            # eager vs the unoptimized graph isolates the runtime; without a `disabled` run, the `all` one
            add("runtime", native(own.eager, own.name),
                ref(framework, native_ep, "disabled" if "disabled" in levels else "all"))
        compiled_kinds = own.compiled if own is not None else ()
        if "all" in levels:
            for compiled in compiled_kinds:
                add("runtime", native(compiled, own.name), ref(framework, native_ep, "all"))
        for level in levels:
            if "cpu" in eps and "cuda" in eps:
                add("runtime", ref(framework, "cpu", level), ref(framework, "cuda", level))
            if "cuda" in eps and "tensorrt" in eps:
                add("runtime", ref(framework, "cuda", level), ref(framework, "tensorrt", level))
        top = top_level(REFERENCE, levels)  # the reference at its most optimized level timed
        for kind in graph_runtimes:
            for ep in eps:
                add("runtime", ref(framework, ep, top), RuntimeConfig.graph_runtime(kind, framework, ep))
            for compiled in compiled_kinds:
                add("runtime", native(compiled, own.name), RuntimeConfig.graph_runtime(kind, framework, native_ep))
    return effects
