"""`python -m aibench_onnx.workers.timing REQUEST.json COMMAND_FD REPLY_FD`: one live timing process
(timing.unit.serve) — the configurations of one runtime group, for several models, sampled in the slots the
parent asks for."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import live_worker_main
    from aibench_onnx.timing.unit import serve

    return live_worker_main(argv, "aibench_onnx.workers.timing", serve)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
