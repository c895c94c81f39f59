"""aibench-onnx: does the exported ONNX graph compute what the framework computes, and where does the time go?

Importing this package loads no ML framework (torch, tensorflow, jax, onnxruntime): commands import
what they need when they run, so `aibench --help` starts instantly.

Python API (imported on first use):
    aibench_onnx.measure(fn, sync=None, config=None) -> Measurement   time any callable with the one loop
    aibench_onnx.TimingConfig                                           its settings
    aibench_onnx.check(path_or_model, inputs=..., framework=..., eps=..., ...) -> CheckResult
                                                       what `aibench check` computes, for a file or a model
    aibench_onnx.testing.assert_onnx_parity(model, inputs, framework=..., ep=...)  for pytest suites
"""

__version__ = "0.1.0"

_LAZY = {"measure": "aibench_onnx.measuring.loop", "TimingConfig": "aibench_onnx.measuring.loop", "Measurement": "aibench_onnx.measuring.loop",
         "check": "aibench_onnx.api"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aibench_onnx' has no attribute {name!r}")
