"""What every runtime hands the timing loop — one prepared call and its sync — and what a graph runtime is
asked to prepare (GraphCall).

A leaf, so that the runtime adapters (frameworks, ort, openvino) can build one without importing the timing
stage that measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def no_sync() -> None:
    """The sync of a runtime whose call returns only when its work is done (CPU runtimes)."""
    return None


@dataclass
class Prepared:
    """One thing to time, as every runtime hands it to the loop: `run()` does only the computation the
    runtime would do in production (inputs already on its device), `sync()` waits for the device."""

    run: Callable[[], Any]
    sync: Callable[[], Any]
    info: dict = field(default_factory=dict)  # device, TF32 state, provider options, ...
    cold: dict = field(default_factory=dict)  # seconds: session creation, ...


@dataclass(frozen=True)
class GraphCall:
    """One exported graph on one graph runtime (runtimes.GRAPH_RUNTIMES), as its timing process asks for it."""

    path: str
    ep: str  # the provider (ONNX Runtime) or device (OpenVINO)
    level: str | None  # the runtime's optimization level; None where it has none
    threads: int
    io_binding: bool = True  # ONNX Runtime: inputs and outputs bound on the provider's device
    cuda_graph: bool = False  # ONNX Runtime's CUDA provider: replay one captured graph
    tf32: bool = False  # ONNX Runtime's CUDA provider may compute float32 in TF32
    cache_dir: str = ""  # engine caches (TensorRT)
    known_info: dict | None = None  # the info of this graph/ep/level from an earlier batch (ORT's audit)
