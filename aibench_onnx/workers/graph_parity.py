"""`python -m aibench_onnx.workers.graph_parity REQUEST.json OUT.json`: zoo parity's side for a graph runtime
other than ONNX Runtime (parity.graph_side), in a process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main
    from aibench_onnx.parity.graph_side import run_request

    return worker_main(argv, "aibench_onnx.workers.graph_parity", run_request)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
