"""CUDA and cuDNN from pip (the nvidia-* wheels) for ONNX Runtime's GPU providers.

onnxruntime-gpu loads libcudart, libcublasLt and libcudnn by name. When they come from pip packages
(site-packages/nvidia/...), the system loader does not find them unless torch happened to load them first
or LD_LIBRARY_PATH names their folders, and the CUDA provider then silently falls back to CPU. ORT's own
`preload_dlls()` loads them from those packages; we call it once per process before any GPU session, with
what it prints (its failures go to stdout, where our JSON may be) captured and kept for the report.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io

_state: dict | None = None


def preload_pip_cuda_libraries() -> dict:
    """Load pip-installed CUDA/cuDNN libraries for ORT once per process. Returns what happened:
    {"attempted": bool, "reason" or "messages"}."""
    global _state
    if _state is not None:
        return _state
    if importlib.util.find_spec("nvidia") is None:
        _state = {"attempted": False, "reason": "no nvidia-* pip packages installed"}
        return _state
    import onnxruntime as ort

    from aibench_onnx.capture import captured_stderr_fd

    if not hasattr(ort, "preload_dlls"):
        _state = {"attempted": False, "reason": f"onnxruntime {ort.__version__} has no preload_dlls()"}
        return _state
    printed = io.StringIO()
    with captured_stderr_fd() as logged, contextlib.redirect_stdout(printed):
        try:
            ort.preload_dlls(cuda=True, cudnn=True)
        except Exception as exc:  # noqa: BLE001 - a failed preload is reported; the session says the rest
            print(f"preload_dlls failed: {type(exc).__name__}: {exc}")
    messages = [line.strip() for line in printed.getvalue().splitlines() + logged if line.strip()]
    _state = {"attempted": True, "messages": messages[-10:]}
    return _state
