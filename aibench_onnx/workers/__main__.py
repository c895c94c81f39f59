"""The one entry point of the processes aibench starts: `python -m aibench_onnx.workers NAME ARGS...`.

A worker is a name in WORKERS: the stage function that does the work ("module:function", imported only in
the worker's own process, so the parent never imports a framework) and how it is driven:
- a one-shot worker, `NAME REQUEST.json OUT.json` (launch.worker_main): the request in, one document out;
- a live worker, `NAME REQUEST.json COMMAND_FD REPLY_FD` (launch.live_worker_main): commands answered until
  the parent says exit.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Worker:
    target: str  # "module:function" — the stage that does the work
    live: bool = False  # a LiveWorker's serve(request, receive, reply), not run(request) -> document
    traceback_limit: int = 6  # frames kept in a failure's document
    threads_first: bool = False  # set the request's thread count and affinity before the target is imported

    def function(self):
        from aibench_onnx.launch import load_function

        return load_function(self.target)


WORKERS: dict[str, Worker] = {
    "check_one_set": Worker("aibench_onnx.parity.export_check:check_one_set"),
    "export_check": Worker("aibench_onnx.parity.export_check:export_check"),
    "export_difference": Worker("aibench_onnx.artifacts.user_export:export_difference"),
    "framework_probe": Worker("aibench_onnx.frameworks:probe_framework"),
    "generation_native": Worker("aibench_onnx.generation.native:run_native_generation"),
    "generation_ort": Worker("aibench_onnx.generation.onnx_side:run_ort_generation"),
    "native": Worker("aibench_onnx.artifacts.native:run_native_request"),
    "native_profile": Worker("aibench_onnx.explain.native:profile_torch", threads_first=True),
    "ort_probe": Worker("aibench_onnx.ort.probe:probe_document"),
    "precision_variant": Worker("aibench_onnx.artifacts.variants:build_variants"),
    "saved_signature": Worker("aibench_onnx.frameworks.saved:signature_document"),
    "timing": Worker("aibench_onnx.timing.unit:serve", live=True),
    "user_model": Worker("aibench_onnx.artifacts.user_export:build_and_export", traceback_limit=8),
}


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import live_worker_main, worker_main

    if len(argv) < 2 or argv[1] not in WORKERS:
        print(f"usage: python -m aibench_onnx.workers NAME ARGS...; NAME: {', '.join(WORKERS)}", file=sys.stderr)
        return 2
    name, worker, arguments = argv[1], WORKERS[argv[1]], [argv[0], *argv[2:]]
    if worker.threads_first and len(arguments) == 3:  # before torch is imported: its pool reads these at import
        import json

        from aibench_onnx.timing.unit import limit_threads

        with open(arguments[1], encoding="utf-8") as handle:
            limit_threads(int(json.load(handle)["threads"]))
    if worker.live:
        return live_worker_main(arguments, name, worker.function())
    return worker_main(arguments, name, worker.function(), traceback_limit=worker.traceback_limit)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
