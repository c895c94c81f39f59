"""One timing process: measure a unit's items — configurations of one runtime group, for several models —
one after another, each over every batch size, in the order the parent chose (shuffled per round).

One process per runtime group per round, not one per configuration: process start-up and framework import
(4-8 s for torch, TF or JAX) would otherwise dominate a quick run. Runtimes still never share a process with
another runtime. Request: round, group, threads, device, timing, batches, tf32, cache_dir, and items, each
{job_id, model, size, config, onnx_path}. Result: per item, the same record a single configuration had
(status, batches with their measurement, info, cold costs and energy), plus its position in the process.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time

from aibench_onnx.status import Status

_STARTED = time.perf_counter()  # as early as this process can know: start-up is what precedes the first item


def limit_threads(threads: int) -> dict:
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


def measure_unit(request: dict) -> dict:
    threads = limit_threads(request["threads"])  # before any framework is imported
    from aibench_onnx.launch import apply_test_hook, record_progress
    from aibench_onnx.timing.energy import EnergyMeter
    from aibench_onnx.timing.schedule import TimingItem, TimingSettings

    settings = TimingSettings.from_dict(request)
    meter = EnergyMeter(settings.device)
    results = []
    ready_s = time.perf_counter() - _STARTED
    for position, entry in enumerate(request["items"]):
        item = TimingItem.from_request({"round": request["round"], **entry})
        apply_test_hook(item.job_id)
        started = time.perf_counter()
        result = _measure_item(item, settings, meter)
        result.update(position=position, wall_s=round(time.perf_counter() - started, 3))
        results.append(result)
        record_progress(request, result)
        gc.collect()  # the previous model's sessions and thread pools go before the next one is timed
    return {"status": Status.OK, "threads": threads, "round": request["round"], "group": request["group"],
            "startup_s": round(ready_s, 3), "items": results}


def _measure_item(item, settings, meter) -> dict:
    """One item (timing.schedule.TimingItem) over every batch of `settings` (TimingSettings): its result."""
    from aibench_onnx.ort.session import EpUnavailable

    config = item.config
    result: dict = {"job_id": item.job_id, "model": item.subject.name, "config": config.to_dict(), "status": Status.OK,
                    "reason": "", "batches": {}, "round": item.round}
    try:
        _measure_batches(item, settings, meter, result)
    except EpUnavailable as exc:
        result.update(status=Status.EP_UNAVAILABLE, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one configuration's failure is its result; the others go on
        import traceback

        from aibench_onnx.ort.session import missing_kernel

        unsupported = missing_kernel(config.precision, config.ep or "", str(exc))
        result.update(status=Status.UNAVAILABLE if unsupported else Status.FAILED,
                      reason=unsupported or f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                      traceback=traceback.format_exc(limit=6))
    result["peak_rss_bytes"] = _peak_rss_bytes()  # of the process so far (it may have measured other models)
    return result


def _measure_batches(item, settings, meter, result: dict) -> None:
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.prepared import GraphCall
    from aibench_onnx.runtimes import timed_call
    from aibench_onnx.timing.loop import measure

    config, subject = item.config, item.subject
    model = fw = None
    if not config.runs_graph:
        fw = adapter(config.framework)
        fw.configure_threads(settings.threads)
        started = time.perf_counter()
        model = subject.build(config.framework)
        result["build_s"] = time.perf_counter() - started
    known_info = None  # what a graph runtime learnt at the first batch (ORT's provider audit)
    for batch in settings.batches:
        arrays = subject.arrays(batch)  # the same bytes in every process and runtime
        if model is not None:
            prepared = fw.prepare_timed(config.kind, model, list(arrays.values()), settings.device)
        else:
            call = GraphCall(item.onnx_path, config.ep, config.opt_level, settings.threads, config.io_binding,
                             config.cuda_graph, settings.tf32, settings.cache_dir, known_info)
            prepared = timed_call(config.kind)(call, arrays)
            known_info = prepared.info
        reading = meter.start()
        measurement = measure(prepared.run, prepared.sync, settings.timing)
        energy = meter.stop(reading, measurement.total_calls)
        result["batches"][str(batch)] = {"measurement": measurement.to_dict(), "info": prepared.info,
                                         "cold": {**prepared.cold, "first_call_s": measurement.first_call_s},
                                         "energy": energy}
        del prepared
    result["peak_device_memory"] = meter.peak_device_memory(getattr(fw, "peak_device_memory", None))
