"""Numerical parity: the comparison engine, zoo parity (export + ORT vs native, with blame), agreement
across frameworks, and `check` for users' own ONNX files."""
