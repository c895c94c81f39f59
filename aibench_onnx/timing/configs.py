"""Runtime configurations: what can be timed (a native runtime kind; ORT on one provider at one level with or
without IO binding / CUDA graphs, or another graph runtime on one device, running one exported graph), and
which of them may share a process."""

from __future__ import annotations

from dataclasses import dataclass

from aibench_onnx.frameworks import NATIVE_RUNTIMES, framework_of
from aibench_onnx.runtimes import GRAPH_RUNTIMES, ORT_RUNTIME, runs_graph


def ort_label(framework: str, ep: str, level: str, io_binding: bool = True, cuda_graph: bool = False,
              precision: str = "fp32") -> str:
    suffix = (":cuda-graph" if cuda_graph else "") + ("" if io_binding else ":no-iobinding")
    suffix += "" if precision == "fp32" else f":{precision}"
    return f"ort:{framework}-graph:{ep}:{level}{suffix}"


def graph_label(kind: str, framework: str, ep: str, level: str | None = None, precision: str = "fp32") -> str:
    """A graph runtime's label: ORT's as ort_label; one without levels says only its device
    (`openvino:torch-graph:cpu`)."""
    if kind == ORT_RUNTIME:
        return ort_label(framework, ep, level, precision=precision)
    return f"{kind}:{framework}-graph:{ep}" + ("" if precision == "fp32" else f":{precision}")


@dataclass
class RuntimeConfig:
    label: str
    kind: str
    framework: str  # the native framework, or the graph a graph runtime runs (a framework name, or torch-script)
    ep: str | None = None
    opt_level: str | None = None
    io_binding: bool = True
    cuda_graph: bool = False  # ORT CUDA EP only: replay one captured CUDA graph per call
    precision: str = "fp32"  # ORT: the exported graph (fp32) or one of its reduced-precision variants

    @property
    def runs_graph(self) -> bool:
        """ORT, OpenVINO, ...: it runs an exported graph (which must exist before it is timed)."""
        return runs_graph(self.kind)

    @property
    def process_group(self) -> str:
        """Configurations that may share a timing process: one native runtime kind, or one graph runtime on one
        provider or device running one framework's graphs. Runtimes never share a process with another."""
        return f"{self.kind}-{self.ep}-{self.framework}-graph" if self.runs_graph else self.kind


def plan(frameworks: list[str], runtimes: list[str], eps: list[str], levels: list[str],
         io_binding_modes: list[bool], cuda_graph_modes: tuple[bool, ...] = (False,),
         precisions: tuple[str, ...] = ("fp32",)) -> list[RuntimeConfig]:
    """Every configuration to time. CUDA graphs need fixed device buffers, so they exist only for the CUDA
    provider with IO binding. Reduced precisions are ORT configurations on the graph's variants. Other graph
    runtimes (OpenVINO) get one fp32 configuration per graph and device they offer among `eps`."""
    configs = []
    natives = {framework_of(name) for name in frameworks}  # `frameworks` may name graphs (torch-script)
    for kind in runtimes:
        if kind in NATIVE_RUNTIMES and NATIVE_RUNTIMES[kind] in natives:
            configs.append(RuntimeConfig(kind, kind, NATIVE_RUNTIMES[kind]))
    if ORT_RUNTIME in runtimes:
        for framework in frameworks:
            for ep in eps:
                for level in levels:
                    for binding in io_binding_modes:
                        for graph in cuda_graph_modes:
                            if graph and (ep != "cuda" or not binding):
                                continue
                            for precision in precisions:
                                configs.append(RuntimeConfig(ort_label(framework, ep, level, binding, graph, precision),
                                                             ORT_RUNTIME, framework, ep, level, binding, graph,
                                                             precision))
    for kind in (k for k in runtimes if runs_graph(k) and k != ORT_RUNTIME):
        for framework in frameworks:
            for ep in GRAPH_RUNTIMES[kind].offered(eps):
                configs.append(RuntimeConfig(graph_label(kind, framework, ep), kind, framework, ep))
    return configs
