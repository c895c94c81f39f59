"""ONNX file tools that need no runtime: load a user's file safely, inspect, edit, the model-zoo test-data
layout, first-divergence localization (runners are passed in)."""
