"""Where the time goes: ratios between timed configurations, each with a bootstrap CI.

- exporter effect: the same function exported by torch vs tf vs jax (or by two exporters of one framework:
  torch-dynamo vs torch-script), on the same provider and level;
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
from aibench_onnx.runtimes import GRAPH_RUNTIMES, ORT_RUNTIME
from aibench_onnx.timing.configs import graph_label, ort_label
from aibench_onnx.timing.processes import compare_replicates


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

    def to_dict(self) -> dict:
        return asdict(self)


def compute_effects(samples: dict[str, dict[int, dict[int, list[float]]]], frameworks: list[str], eps: list[str],
                    levels: list[str], native_device: str = "cpu",
                    precisions: tuple[str, ...] = ("fp32",), graph_runtimes: tuple[str, ...] = ()) -> list[Effect]:
    """`samples`: configuration label -> batch -> round -> per-call seconds of the process of that round.
    Only pairs that both ran appear; pairs are compared round by round (both ran in every round). Native
    runtimes are compared with ORT on the provider of their own device (cuda for --device cuda).
    `graph_runtimes`: other runtimes of the same graphs (OpenVINO), compared with ORT at its highest level
    timed, on each provider they share, and with the native compiled runtimes."""
    effects: list[Effect] = []

    def add(kind: str, baseline: str, candidate: str) -> None:
        for batch in sorted(set(samples.get(baseline, {})) & set(samples.get(candidate, {}))):
            found = compare_replicates(samples[baseline][batch], samples[candidate][batch], paired=True)
            effects.append(Effect(batch, kind, baseline, candidate, found.ratio, found.ci_low, found.ci_high,
                                  found.p_value, found.verdict, found.mde, found.processes, found.method))

    reference = frameworks[0]
    for ep in eps:
        for level in levels:
            for framework in frameworks[1:]:
                add("exporter", ort_label(reference, ep, level), ort_label(framework, ep, level))
    native_ep = "cuda" if native_device == "cuda" else "cpu"
    for framework in frameworks:
        for ep in eps:
            if "disabled" in levels and "all" in levels:
                add("optimizer", ort_label(framework, ep, "disabled"), ort_label(framework, ep, "all"))
            for level in levels:
                add("runtime", ort_label(framework, ep, level, io_binding=False), ort_label(framework, ep, level))
                add("runtime", ort_label(framework, ep, level), ort_label(framework, ep, level, cuda_graph=True))
                for precision in precisions:
                    if precision != "fp32":
                        add("precision", ort_label(framework, ep, level),
                            ort_label(framework, ep, level, precision=precision))
        eager = FRAMEWORKS[framework_of(framework)].eager
        if eager:
            # eager vs the unoptimized graph isolates the runtime; without a `disabled` run, the `all` one
            add("runtime", eager, ort_label(framework, native_ep, "disabled" if "disabled" in levels else "all"))
        if "all" in levels:
            for compiled in FRAMEWORKS[framework_of(framework)].compiled:
                add("runtime", compiled, ort_label(framework, native_ep, "all"))
        for level in levels:
            if "cpu" in eps and "cuda" in eps:
                add("runtime", ort_label(framework, "cpu", level), ort_label(framework, "cuda", level))
            if "cuda" in eps and "tensorrt" in eps:
                add("runtime", ort_label(framework, "cuda", level), ort_label(framework, "tensorrt", level))
        top = max(levels, key=GRAPH_RUNTIMES[ORT_RUNTIME].levels.index)  # ORT at its most optimized level timed
        for kind in graph_runtimes:
            for ep in eps:
                add("runtime", ort_label(framework, ep, top), graph_label(kind, framework, ep))
            for compiled in FRAMEWORKS[framework_of(framework)].compiled:
                add("runtime", compiled, graph_label(kind, framework, native_ep))
    return effects
