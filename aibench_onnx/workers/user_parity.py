"""`python -m aibench_onnx.workers.user_parity REQUEST.json OUT.json`: ONNX Runtime's check of a user's
exported model (parity.user) in a process of its own, so a runtime crash costs one job, not the run."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main
    from aibench_onnx.parity.user import user_parity

    return worker_main(argv, "aibench_onnx.workers.user_parity", user_parity, traceback_limit=6)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
