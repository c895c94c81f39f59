"""The runtime registry: every runtime aibench times or checks, one entry each.

Native kinds (torch-eager, torch-compile, tf-eager, tf-function, tf-xla, jax-jit) come from the framework
table: their framework's adapter builds the model and prepares the timed call. Graph runtimes run an exported
ONNX file: ONNX Runtime (per execution provider and optimization level) and OpenVINO (per device). A graph
runtime's entry says which modules it needs and how to install it (a missing one is "unavailable" with that
line), which devices and levels it offers, where its timed call is prepared, where parity runs it over input
sets (ONNX Runtime's is the parity engine's own loop, ort/execute.py), and whether a plain run times it (OpenVINO
is an optional extra: timed when `--runtime` names it). A configuration's process group is the
kind and device (keys.RuntimeConfig.process_group): every graph of one runtime on one device in one process,
set up once by the runtime's `process_setup`; runtimes never share a timing process.

Code asks the registry what a runtime can do (the entry's fields; REFERENCE, is_reference, has_levels,
other_graph_runtimes), never compares a kind with a runtime's name: a new graph runtime is its adapter package
(like `openvino/`) and one entry here (tests/test_layers.py plants a comparison by name and sees it refused).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

from aibench_onnx.frameworks import NATIVE_RUNTIMES, framework_of
from aibench_onnx.launch import load_function

DEFAULT_LEVEL = "default"  # the level of a runtime without optimization levels to choose: its own always run


@dataclass(frozen=True)
class GraphRuntime:
    kind: str  # what --runtime, labels and records call it
    title: str
    devices: tuple[str, ...]  # what --ep may name for it
    levels: tuple[str, ...]  # its optimization levels; (DEFAULT_LEVEL,) when it has none to choose
    imports: tuple[str, ...]  # modules that must import for it to run
    install: str  # how to install it
    timed: str  # "module:function" preparing one timed call: (GraphCall, arrays) -> Prepared
    by_default: bool  # timed when --runtime is not given
    # "module:function" running a graph over input sets for parity: (path, ep, threads, feeds) -> a run with
    # status, reason, outputs (one dict per set), info, casts; None: the reference, which the engine runs itself
    # per optimization level and precision (ort/execute.py)
    runs_sets: str | None = None
    # "module:function" (threads) -> None, called once in a timing process before its first graph is prepared:
    # how the runtime's sessions share threads when one process holds several side by side
    process_setup: str | None = None
    # The reference graph runtime (one entry): every export is checked on it, always (a graph's other runtimes
    # are added to it); it runs the reduced-precision variants, has IO binding and CUDA-graph replay, the parity
    # engine's localization, and the effects compare every other graph runtime with it.
    reference: bool = False
    # "module:function" (path, ep, threads, feed) -> GraphProfile: a per-node profile explain reads (the
    # reference's own, with the optimizer's fusions, is ort/profile.py); None: not profiled yet
    profile: str | None = None
    generates: bool = False  # a decoder's generation runs on it with its key/value cache (generation/)

    @property
    def has_levels(self) -> bool:
        return self.levels != (DEFAULT_LEVEL,)

    def offered(self, eps: list[str]) -> list[str]:
        """The devices of `eps` (once each, in order) this runtime offers."""
        return [ep for ep in dict.fromkeys(eps) if ep in self.devices]


GRAPH_RUNTIMES: dict[str, GraphRuntime] = {
    "ort": GraphRuntime("ort", "ONNX Runtime", ("cpu", "cuda", "tensorrt"), ("disabled", "basic", "extended", "all"),
                        ("onnxruntime",), "pip install ./packaging/onnxruntime-gpu-alias (see the README)",
                        "aibench_onnx.ort.timed:prepare_timed", True,
                        process_setup="aibench_onnx.ort.session:share_one_thread_pool", reference=True,
                        generates=True),
    "openvino": GraphRuntime("openvino", "OpenVINO", ("cpu",), (DEFAULT_LEVEL,), ("openvino",),
                             "pip install 'aibench-onnx[openvino]'", "aibench_onnx.openvino.runner:prepare_timed",
                             False, "aibench_onnx.openvino.runner:run_sets",
                             profile="aibench_onnx.openvino.profile:profile_openvino"),
}
ALL_RUNTIMES: list[str] = list(NATIVE_RUNTIMES) + list(GRAPH_RUNTIMES)
# The kind of the reference graph runtime: code asks for it by this name, never by the runtime's own.
REFERENCE: str = next(kind for kind, entry in GRAPH_RUNTIMES.items() if entry.reference)


def runs_graph(kind: str) -> bool:
    return kind in GRAPH_RUNTIMES


def is_reference(kind: str) -> bool:
    return kind == REFERENCE


def other_graph_runtimes(kinds) -> list[str]:
    """The graph runtimes among `kinds` other than the reference (once each, in order)."""
    return [kind for kind in dict.fromkeys(kinds) if runs_graph(kind) and not is_reference(kind)]


def has_levels(kind: str) -> bool:
    """A graph runtime whose optimization level is chosen (ORT's); the others run at their one default."""
    return kind in GRAPH_RUNTIMES and GRAPH_RUNTIMES[kind].has_levels


def top_level(kind: str, levels) -> str:
    """The most optimized of `levels` for graph runtime `kind`."""
    return max(levels, key=GRAPH_RUNTIMES[kind].levels.index)


def default_graph_runtimes() -> list[str]:
    """The graph runtimes a run times without --runtime."""
    return [kind for kind, entry in GRAPH_RUNTIMES.items() if entry.by_default]


def runtimes_of(frameworks: list[str], kinds: list[str] | None = None) -> list[str]:
    """The runtime kinds (of `kinds`, default the ones timed by default) that the chosen frameworks or graphs
    can time: their own native kinds, and the graph runtimes, which run any of their graphs."""
    chosen = {framework_of(name) for name in frameworks}  # graph names count for their framework
    default = list(NATIVE_RUNTIMES) + default_graph_runtimes()
    return [kind for kind in kinds or default if runs_graph(kind) or NATIVE_RUNTIMES[kind] in chosen]


def missing_runtime(kind: str) -> str | None:
    """None when graph runtime `kind` can be imported (or `kind` is native), else why not and how to install."""
    entry = GRAPH_RUNTIMES.get(kind)
    if entry is None:
        return None
    missing = [name for name in entry.imports if importlib.util.find_spec(name) is None]
    return f"{entry.title} is not installed: {entry.install}" if missing else None


def timed_call(kind: str) -> Callable:
    """The graph runtime's (GraphCall, arrays) -> Prepared, imported (in its timing process)."""
    return load_function(GRAPH_RUNTIMES[kind].timed)


def setup_timing_process(kind: str, threads: int) -> None:
    """A graph runtime's once-per-process setup in the timing process of its group (nothing for the others)."""
    entry = GRAPH_RUNTIMES.get(kind)
    if entry is not None and entry.process_setup:
        load_function(entry.process_setup)(threads)


def profiled(kind: str) -> bool:
    """Explain can split graph runtime `kind`'s time per node (the reference always)."""
    entry = GRAPH_RUNTIMES.get(kind)
    return entry is not None and (entry.reference or entry.profile is not None)


def profiler(kind: str) -> Callable:
    """A graph runtime's (path, ep, threads, feed) -> GraphProfile, imported."""
    return load_function(GRAPH_RUNTIMES[kind].profile)


def sets_runner(kind: str) -> Callable:
    """The graph runtime's parity runner, (path, ep, threads, feeds) -> run, imported (in its parity process)."""
    reference = GRAPH_RUNTIMES[kind].runs_sets
    if reference is None:
        raise ValueError(f"{kind} is run by the parity engine per level and precision, no runner over input sets")
    return load_function(reference)
