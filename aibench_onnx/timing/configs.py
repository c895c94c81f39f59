"""Runtime configurations: what can be timed (a native runtime kind; ORT on one provider at one level with or
without IO binding / CUDA graphs, or another graph runtime on one device, running one exported graph), and
which of them may share a process."""

from __future__ import annotations

from aibench_onnx.frameworks import NATIVE_RUNTIMES, framework_of
from aibench_onnx.keys import ORT_RUNTIME, RuntimeConfig
from aibench_onnx.runtimes import GRAPH_RUNTIMES, runs_graph

__all__ = ["RuntimeConfig", "plan"]


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
            configs.append(RuntimeConfig.native(kind, NATIVE_RUNTIMES[kind]))
    if ORT_RUNTIME in runtimes:
        for framework in frameworks:
            for ep in eps:
                for level in levels:
                    for binding in io_binding_modes:
                        for graph in cuda_graph_modes:
                            if graph and (ep != "cuda" or not binding):
                                continue
                            for precision in precisions:
                                configs.append(RuntimeConfig.ort(framework, ep, level, binding, graph, precision))
    for kind in (k for k in runtimes if runs_graph(k) and k != ORT_RUNTIME):
        for framework in frameworks:
            for ep in GRAPH_RUNTIMES[kind].offered(eps):
                configs.append(RuntimeConfig.graph_runtime(kind, framework, ep))
    return configs
