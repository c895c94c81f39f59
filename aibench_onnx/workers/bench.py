"""`python -m aibench_onnx.workers.bench REQUEST.json OUT.json`: time one runtime configuration of one model
(timing.configuration) in a process of its own."""

from __future__ import annotations

import sys


def _failure_status(exc: Exception) -> str:
    from aibench_onnx.ort.session import EpUnavailable
    from aibench_onnx.status import Status

    return Status.EP_UNAVAILABLE if isinstance(exc, EpUnavailable) else Status.FAILED


def main(argv: list[str]) -> int:
    from aibench_onnx.timing.configuration import measure_configuration
    from aibench_onnx.workers import worker_main

    return worker_main(argv, "aibench_onnx.workers.bench", measure_configuration, failure_status=_failure_status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
