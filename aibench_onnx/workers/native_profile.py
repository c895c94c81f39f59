"""`python -m aibench_onnx.workers.native_profile REQUEST.json OUT.json`: PyTorch eager's operators under
torch.profiler (explain.native.profile_torch), in a torch process of its own."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import json

    from aibench_onnx.timing.unit import limit_threads

    if len(argv) == 3:  # the timing processes' thread count and affinity, before torch is imported
        with open(argv[1], encoding="utf-8") as handle:
            limit_threads(int(json.load(handle)["threads"]))
    from aibench_onnx.explain.native import profile_torch
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.native_profile", profile_torch, traceback_limit=6)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
