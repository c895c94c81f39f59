"""Import one ML framework and report the devices it sees. Run as a subprocess, one per framework:
`python -m aibench_onnx.workers.framework_probe torch|tensorflow|jax OUT.json`.

Each framework gets its own process because importing TensorFlow, JAX and PyTorch together makes them
fight over thread pools and GPU memory, and because an import can crash the interpreter.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback


def probe_torch() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    info = {
        "version": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cuda_available": cuda,
        "devices": ["cpu"] + [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())],
        "intra_op_threads": torch.get_num_threads(),
    }
    if cuda:
        info["cudnn"] = torch.backends.cudnn.version()
        info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
        info["tf32_cudnn"] = torch.backends.cudnn.allow_tf32
    return info


def probe_tensorflow() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    devices = tf.config.list_physical_devices()
    build = tf.sysconfig.get_build_info()
    return {
        "version": tf.__version__,
        "cuda_build": build.get("cuda_version"),
        "cuda_available": any(d.device_type == "GPU" for d in devices),
        "devices": [f"{d.device_type} {d.name}" for d in devices],
        "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
    }


def probe_jax() -> dict:
    import jax

    devices = jax.devices()
    return {
        "version": jax.__version__,
        "default_backend": jax.default_backend(),
        "cuda_available": any(d.platform == "gpu" for d in devices),
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in devices],
    }


PROBES = {"torch": probe_torch, "tensorflow": probe_tensorflow, "jax": probe_jax}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in PROBES:
        print(f"usage: python -m aibench_onnx.workers.framework_probe {'|'.join(PROBES)} OUT.json", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        document = {"ok": True, **PROBES[argv[1]]()}
    except Exception as exc:  # noqa: BLE001 - an import failure is the finding
        document = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=4)}
    document["import_and_probe_s"] = round(time.perf_counter() - started, 2)
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
