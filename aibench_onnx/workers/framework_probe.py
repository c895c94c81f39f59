"""`python -m aibench_onnx.workers.framework_probe REQUEST.json OUT.json`: import one ML framework and
report the devices it sees (its adapter's probe_devices), request {"framework": "torch" | "tf" | "jax"}.

Each framework gets its own process because importing TensorFlow, JAX and PyTorch together makes them
fight over thread pools and GPU memory, and because an import can crash the interpreter.
"""

from __future__ import annotations

import sys
import time
import traceback


def probe_framework(request: dict) -> dict:
    started = time.perf_counter()
    try:
        from aibench_onnx.frameworks import adapter

        document = {"ok": True, **adapter(request["framework"]).probe_devices()}
    except Exception as exc:  # noqa: BLE001 - an import failure is the finding
        document = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=4)}
    document["import_and_probe_s"] = round(time.perf_counter() - started, 2)
    return document


def main(argv: list[str]) -> int:
    from aibench_onnx.launch import worker_main

    return worker_main(argv, "aibench_onnx.workers.framework_probe", probe_framework)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
