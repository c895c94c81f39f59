"""`python -m aibench_onnx.workers.native REQUEST.json OUT.json`: build, run and optionally export one zoo
model — or several, one after another — in one framework (artifacts.native), in a process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.artifacts.native import run_native_request
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.native", run_native_request)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
