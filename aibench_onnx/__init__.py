"""aibench-onnx: does the exported ONNX graph compute what the framework computes, and where does the time go?

Importing this package loads no ML framework (torch, tensorflow, jax, onnxruntime): commands import
what they need when they run, so `aibench --help` starts instantly.
"""

__version__ = "0.1.0"
