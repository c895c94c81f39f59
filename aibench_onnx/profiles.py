"""A profile of one graph (or model) on one runtime: each node's median time per run beside the run's
unprofiled latency — what ONNX Runtime's profiler (ort/profile.py), OpenVINO's per-layer counters
(openvino/profile.py) and torch.profiler (explain/native.py) are read into, for explain/ to split an effect."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from aibench_onnx.jsonio import known_fields

WARMUP_RUNS = 10  # ORT's first runs allocate, pick kernels and fill caches (onnxruntime #15980)
PROFILED_RUNS = 30


@dataclass
class NodeTime:
    name: str
    op_type: str
    provider: str
    median_us: float  # per run
    input_shapes: list[list[int]] = field(default_factory=list)
    output_shapes: list[list[int]] = field(default_factory=list)
    input_types: list[str] = field(default_factory=list)
    nested: bool = False  # inside a subgraph: its time is part of its control-flow node's


@dataclass
class GraphProfile:
    path: str
    ep: str
    opt_level: str
    threads: int
    runs: int  # profiled runs read (after the warm-up)
    latency_us: float  # median run without profiling (graph runtimes: set on the timed call by explain/latency.py)
    profiled_run_us: float  # median run with profiling on
    nodes: list[NodeTime]
    optimized_path: str | None = None  # the graph as the optimizer left it (None: ORT could not write it)

    @property
    def node_sum_us(self) -> float:
        return sum(node.median_us for node in self.nodes if not node.nested)

    @property
    def coverage(self) -> float:
        """Profiled node time over the unprofiled latency: far from 1, time goes outside the nodes (executor,
        thread pool, copies in and out) or profiling itself inflates the nodes."""
        return self.node_sum_us / self.latency_us if self.latency_us else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "node_sum_us": self.node_sum_us, "coverage": self.coverage}

    @classmethod
    def from_dict(cls, data: dict) -> GraphProfile:
        nodes = [NodeTime(**node) for node in data["nodes"]]
        return cls(**{**known_fields(cls, data), "nodes": nodes})
