"""What the machine is and can really run: system facts, GPUs, package versions, ONNX Runtime providers
that load, framework devices. Embedded in every result document."""
