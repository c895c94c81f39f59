"""`python -m aibench_onnx.workers.user_model REQUEST.json OUT.json`: build, run and export a user's
framework model (artifacts.user_export) in a process of its own. This runs the user's code."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.artifacts.user_export import build_and_export
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.user_model", build_and_export, traceback_limit=8)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
