"""`python -m aibench_onnx.workers.timing REQUEST.json OUT.json`: one timing process (timing.unit) — the
configurations of one runtime group, for several models, in the order the parent chose."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main
    from aibench_onnx.timing.unit import measure_unit

    return worker_main(argv, "aibench_onnx.workers.timing", measure_unit)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
