"""`python -m aibench_onnx.workers.generation_native REQUEST.json OUT.json`: the framework's side of a
generation check (generation.native) in a process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.generation.native import run_native_generation as run
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.generation_native", run)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
