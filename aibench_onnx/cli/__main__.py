"""`python -m aibench_onnx.cli`: the aibench command, for environments without the console script on PATH."""

from aibench_onnx.cli import main

main()
