"""The model zoo: one module per model, each with its ModelSpec and build_torch / build_tf / build_jax
side by side. Installed as `aibench_onnx.models`. Modules import only numpy at module level."""
