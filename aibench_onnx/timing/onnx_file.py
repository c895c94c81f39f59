"""Timing one ONNX file on one provider x level with the one loop — what `aibench check --bench` adds to each
parity cell. Handed to parity as a callable (parity.check.OnnxTimer), so parity never imports timing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np


def onnx_timer(timing_config: dict | None = None) -> Callable[[str, str, str, int, dict, dict | None], dict]:
    """A timer for check_onnx: the bench's ORT runner (IO binding: inputs and outputs on the provider's device)
    measured with the loop under `timing_config` (TimingConfig's fields)."""

    def time_cell(path: str, ep: str, level: str, threads: int, feed: dict[str, np.ndarray], audit: dict | None) -> dict:
        import tempfile

        from aibench_onnx.measuring.loop import TimingConfig, measure
        from aibench_onnx.ort.timed import prepare_ort

        with tempfile.TemporaryDirectory(prefix="aibench-trt-cache-") as cache_dir:
            prepared = prepare_ort(path, feed, ep, level, threads, io_binding=True, cache_dir=cache_dir,
                                   known_audit=audit)
            measurement = measure(prepared.run, prepared.sync, TimingConfig(**(timing_config or {})))
        return {**measurement.summary(), "io_binding": True}

    return time_cell
