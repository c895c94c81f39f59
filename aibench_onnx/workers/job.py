"""`python -m aibench_onnx.workers.job JOB.json OUT.json`: one job of `aibench run` (runs.jobs) in a process
of its own, so that a crash or a hang ends only that job."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.runs.jobs import run_job
    from aibench_onnx.workers import worker_main

    return worker_main(argv, "aibench_onnx.workers.job", run_job)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
