"""Provider audit: which execution provider ran how many nodes, which Memcpy nodes ORT inserted, and which
element types its kernels computed on (an fp16 graph that ORT ran in fp32 shows here), read from ORT's own
profiling trace of one run. A CUDA or TensorRT session that left nodes on the CPU
says so, because each such boundary costs a device<->host copy."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def audit(onnx_path: str, ep: str, opt_level: str, threads: int, feed: dict[str, np.ndarray]) -> dict:
    import onnxruntime as ort

    from aibench_onnx.ort.cuda_libs import preload_pip_cuda_libraries
    from aibench_onnx.ort.session import (
        EXECUTION_PROVIDERS,
        _graph_optimization_level,
        feed_for,
        provider_chain,
        set_threads,
    )

    if ep != "cpu":
        preload_pip_cuda_libraries()
    with tempfile.TemporaryDirectory(prefix="aibench-audit-") as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = _graph_optimization_level(ort, opt_level)
        set_threads(options, threads)
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "profile")
        options.log_severity_level = 3
        session = ort.InferenceSession(onnx_path, sess_options=options, providers=provider_chain(ep))
        session.run(None, feed_for(session, feed)[0])
        trace = json.loads(Path(session.end_profiling()).read_text())
    nodes: dict[str, str] = {}
    compute_types: Counter = Counter()  # the element type each kernel computed on (its first input's)
    for event in trace:
        args = event.get("args", {})
        if event.get("cat") == "Node" and "provider" in args:
            nodes[event["name"].removesuffix("_kernel_time").removesuffix("_fence_before").removesuffix("_fence_after")] = args["provider"]
            if event["name"].endswith("_kernel_time") and args.get("input_type_shape"):
                compute_types[next(iter(args["input_type_shape"][0]))] += 1
    per_provider = Counter(nodes.values())
    memcpy = sorted(name for name in nodes if "Memcpy" in name)
    requested = EXECUTION_PROVIDERS[ep]
    on_cpu = per_provider.get("CPUExecutionProvider", 0) if requested != "CPUExecutionProvider" else 0
    note = ""
    if on_cpu:
        note = f"{on_cpu} of {len(nodes)} nodes ran on CPUExecutionProvider, not {requested}"
    return {"nodes": len(nodes), "per_provider": dict(per_provider), "memcpy_nodes": memcpy, "note": note,
            "compute_types": dict(compute_types)}
