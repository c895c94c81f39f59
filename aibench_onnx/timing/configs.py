"""Runtime configurations: what can be timed (a native runtime kind; the reference graph runtime on one provider
at one level with or without IO binding / CUDA graphs; another graph runtime on one device), each running one
exported graph, and which of them may share a process."""

from __future__ import annotations

from aibench_onnx.frameworks import NATIVE_RUNTIMES, framework_of
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runtimes import GRAPH_RUNTIMES, REFERENCE, has_levels, other_graph_runtimes

__all__ = ["RuntimeConfig", "plan"]


def plan(frameworks: list[str], runtimes: list[str], eps: list[str], levels: list[str],
         io_binding_modes: list[bool], cuda_graph_modes: tuple[bool, ...] = (False,),
         precisions: tuple[str, ...] = ("fp32",)) -> list[RuntimeConfig]:
    """Every configuration to time. CUDA graphs need fixed device buffers, so they exist only for the CUDA
    provider with IO binding. Reduced precisions are the reference runtime's configurations on the graph's
    variants. Other graph runtimes (OpenVINO) get one fp32 configuration per graph and device they offer among
    `eps`, at each of `levels` where they have levels."""
    configs = []
    natives = {framework_of(name) for name in frameworks}  # `frameworks` may name graphs (torch-script)
    for kind in runtimes:
        if kind in NATIVE_RUNTIMES and NATIVE_RUNTIMES[kind] in natives:
            configs.append(RuntimeConfig.native(kind, NATIVE_RUNTIMES[kind]))
    if REFERENCE in runtimes:
        for framework in frameworks:
            for ep in eps:
                for level in levels:
                    for binding in io_binding_modes:
                        for graph in cuda_graph_modes:
                            if graph and (ep != "cuda" or not binding):
                                continue
                            for precision in precisions:
                                configs.append(RuntimeConfig.graph_runtime(REFERENCE, framework, ep, level, binding,
                                                                           graph, precision))
    for kind in other_graph_runtimes(runtimes):
        for framework in frameworks:
            for ep in GRAPH_RUNTIMES[kind].offered(eps):
                for level in levels if has_levels(kind) else [None]:
                    configs.append(RuntimeConfig.graph_runtime(kind, framework, ep, level))
    return configs
