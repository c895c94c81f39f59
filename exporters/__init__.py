"""One module per exporter: torch.onnx (dynamo and TorchScript), tf2onnx, jax2onnx. Installed as
`aibench_onnx.exporters`.

Each module has `export(model, spec, dims, example_inputs, path, opset) -> list[str]` (the exporter's
warnings) and `exporter_info() -> (name, version)`, and imports its framework inside its functions. Which
framework uses which exporters is in the exporter table (aibench_onnx.frameworks.EXPORTERS).
"""

# One opset for all three exporters: tf2onnx 1.17 stops at 18, the torch dynamo exporter starts at 18,
# and jax2onnx and ONNX Runtime 1.24+ support it. 18 has LayerNormalization (17) but no Gelu op (20):
# GELU stays an Erf subgraph, which every provider runs.
DEFAULT_OPSET = 18
