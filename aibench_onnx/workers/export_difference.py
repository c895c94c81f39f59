"""`python -m aibench_onnx.workers.export_difference REQUEST.json OUT.json`: where a user's torch model and its
dynamo export part ways (artifacts.user_export.export_difference), in a torch process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.artifacts.user_export import export_difference
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.export_difference", export_difference, traceback_limit=6)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
