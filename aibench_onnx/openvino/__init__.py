"""Everything OpenVINO: a second runtime for the same exported ONNX graph (its CPU device), for parity and
timing. Only this package imports `openvino`, and only inside functions (workers call it)."""
