"""PyTorch eager's operators under torch.profiler: self CPU time per aten operator (explain/native.py reads
it against an ONNX graph's nodes)."""

from __future__ import annotations

import time
from typing import Callable


def profile_operators(run: Callable[[], object], calls: int) -> tuple[list[tuple[str, float]], float]:
    """([(aten operator, self CPU µs per call)], wall seconds of the profiled calls) over `calls` calls of
    `run` (already warm)."""
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        started = time.perf_counter()
        for _ in range(calls):
            run()
        profiled_s = time.perf_counter() - started
    return ([(event.key, event.self_cpu_time_total / calls) for event in profiler.key_averages()
             if event.self_cpu_time_total > 0], profiled_s)
