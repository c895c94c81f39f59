"""`python -m aibench_onnx.workers.saved_signature REQUEST.json OUT.json`: the inputs a saved model records
(frameworks.saved), read in the framework's own process."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.frameworks.saved import signature_document
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.saved_signature", signature_document)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
