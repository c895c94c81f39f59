"""Runtime configurations: what can be timed (a native runtime kind, or ORT on one provider at one level
with or without IO binding / CUDA graphs, running one framework's exported graph), and which of them may
share a process."""

from __future__ import annotations

from dataclasses import dataclass

from aibench_onnx.frameworks import NATIVE_RUNTIMES, ORT_RUNTIME, framework_of


def ort_label(framework: str, ep: str, level: str, io_binding: bool = True, cuda_graph: bool = False,
              precision: str = "fp32") -> str:
    suffix = (":cuda-graph" if cuda_graph else "") + ("" if io_binding else ":no-iobinding")
    suffix += "" if precision == "fp32" else f":{precision}"
    return f"ort:{framework}-graph:{ep}:{level}{suffix}"


@dataclass
class RuntimeConfig:
    label: str
    kind: str
    framework: str  # the native framework, or the graph ORT runs (a framework name, or torch-script)
    ep: str | None = None
    opt_level: str | None = None
    io_binding: bool = True
    cuda_graph: bool = False  # ORT CUDA EP only: replay one captured CUDA graph per call
    precision: str = "fp32"  # ORT: the exported graph (fp32) or one of its reduced-precision variants

    @property
    def process_group(self) -> str:
        """Configurations that may share a timing process: one native runtime kind, or ORT on one provider
        running one framework's graphs. Runtimes never share a process with another runtime."""
        return self.kind if self.kind != ORT_RUNTIME else f"ort-{self.ep}-{self.framework}-graph"



def plan(frameworks: list[str], runtimes: list[str], eps: list[str], levels: list[str],
         io_binding_modes: list[bool], cuda_graph_modes: tuple[bool, ...] = (False,),
         precisions: tuple[str, ...] = ("fp32",)) -> list[RuntimeConfig]:
    """Every configuration to time. CUDA graphs need fixed device buffers, so they exist only for the CUDA
    provider with IO binding. Reduced precisions are ORT configurations on the graph's variants."""
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
    return configs
