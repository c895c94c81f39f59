"""`python -m aibench_onnx.workers.ort_probe REQUEST.json OUT.json`: which ONNX Runtime providers really
load (ort.probe), in a process of its own — a broken provider library can crash the interpreter."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main
    from aibench_onnx.ort.probe import probe_document

    return worker_main(argv, "aibench_onnx.workers.ort_probe", probe_document)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
