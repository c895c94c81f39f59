"""`python -m aibench_onnx.workers.generation_ort REQUEST.json OUT.json`: the ONNX Runtime side of a
generation check (generation.onnx_side) in a process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.generation.onnx_side import run_ort_generation as run
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.generation_ort", run)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
