"""`python -m aibench_onnx.workers.ort_parity REQUEST.json OUT.json`: the ONNX Runtime side of zoo parity
(parity.ort_side) in a process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main
    from aibench_onnx.parity.ort_side import run_request

    return worker_main(argv, "aibench_onnx.workers.ort_parity", run_request, traceback_limit=5)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
