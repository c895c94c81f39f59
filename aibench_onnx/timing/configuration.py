"""Time one runtime configuration of one model, inside the fresh process the bench gives it.

Request: model, size, runtime kind ("torch-eager", ..., "ort"), framework (whose model or whose exported
graph), ep / opt_level / io_binding / cuda_graph for ORT, batches with their input files, threads, device,
timing config. The result holds each batch's Measurement, cold costs, peak RSS, and energy where the
machine exposes it.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from aibench_onnx.status import Status


def _limit_threads(threads: int) -> dict:
    """Same thread count for every runtime: env for OpenMP/MKL (read at import) and CPU affinity (which
    also bounds XLA's pool, which has no thread setting)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    applied = {"threads": threads, "affinity": None}
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if threads < len(cpus):
            os.sched_setaffinity(0, cpus[:threads])
            applied["affinity"] = cpus[:threads]
    except AttributeError:  # not on macOS / Windows
        pass
    return applied


def _peak_rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _load_arrays(path: str, names: list[str]):
    import numpy as np

    with np.load(path) as saved:
        return {name: saved[name] for name in names}


def measure_configuration(request: dict) -> dict:
    """Time one runtime configuration of one model for every requested batch, in this (fresh) process."""
    threads = _limit_threads(request["threads"])
    from aibench_onnx.frameworks import NATIVE_RUNTIMES
    from aibench_onnx.ort.timed import prepare_ort
    from aibench_onnx.timing.energy import EnergyMeter
    from aibench_onnx.timing.loop import TimingConfig, measure
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec(request["model"])
    kind = request["runtime"]
    config = TimingConfig(**request["timing"])
    names = [t.name for t in spec.inputs]
    result: dict = {"status": Status.OK, "threads": threads, "batches": {}}
    model = fw = None
    if kind in NATIVE_RUNTIMES:
        from aibench_onnx.frameworks import adapter

        fw = adapter(request["framework"])
        fw.configure_threads(request["threads"])
        started = time.perf_counter()
        model = builder(spec.name, request["framework"])(spec.make_params(request["size"]), spec.sizes[request["size"]])
        result["build_s"] = time.perf_counter() - started
    meter = EnergyMeter(request["device"])
    placement = None  # ORT's provider audit, taken once per configuration
    for batch, input_file in request["batches"].items():
        arrays = _load_arrays(input_file, names)
        if model is not None:
            prepared = fw.prepare_timed(kind, model, [arrays[n] for n in names], request["device"])
        else:
            prepared = prepare_ort(request["onnx_path"], arrays, request["ep"], request["opt_level"],
                                   request["threads"], request["io_binding"], request["cache_dir"], placement,
                                   cuda_graph=request.get("cuda_graph", False), tf32=request.get("tf32", False))
            placement = prepared.info["audit"]
        reading = meter.start()
        measurement = measure(prepared.run, prepared.sync, config)
        energy = meter.stop(reading, measurement.total_calls)
        result["batches"][batch] = {"measurement": measurement.to_dict(), "info": prepared.info,
                                    "cold": {**prepared.cold, "first_call_s": measurement.first_call_s},
                                    "energy": energy}
    result["peak_rss_bytes"] = _peak_rss_bytes()
    result["peak_device_memory"] = meter.peak_device_memory(getattr(fw, "peak_device_memory", None))
    return result
