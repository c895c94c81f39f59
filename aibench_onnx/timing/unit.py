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
        applied["cpus"] = len(cpus)  # before narrowing: a run with threads >= cpus has no CPU to spare
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
    remeasure = Remeasure()
    results = []
    ready_s = time.perf_counter() - _STARTED
    for position, entry in enumerate(request["items"]):
        item = TimingItem.from_request({"round": request["round"], **entry})
        apply_test_hook(item.job_id)
        started = time.perf_counter()
        result = _measure_item(item, settings, meter, remeasure)
        result.update(position=position, wall_s=round(time.perf_counter() - started, 3))
        results.append(result)
        record_progress(request, result)
        gc.collect()  # the previous model's sessions and thread pools go before the next one is timed
    return {"status": Status.OK, "threads": threads, "round": request["round"], "group": request["group"],
            "startup_s": round(ready_s, 3), "remeasures": remeasure.to_dict(), "items": results}


class Remeasure:
    """A measurement other processes contaminated is measured again after the machine quietens (at most
    MAX_REMEASURES times); the least contaminated attempt is kept and the others are recorded with their cause.
    Contention that outlasts PERSISTENT_AFTER items in a row is persistent: re-measuring would only multiply
    the run's time, so the rest of the process measures once and its records say why."""

    MAX_REMEASURES = 2
    PERSISTENT_AFTER = 2
    QUIET_WAIT_S = 1.0

    def __init__(self) -> None:
        self.remeasured = 0
        self.failed_in_a_row = 0

    @property
    def persistent(self) -> bool:
        return self.failed_in_a_row >= self.PERSISTENT_AFTER

    def measure(self, prepared, timing):
        """(the measurement kept, the discarded attempts: median, calls and cause of each)."""
        from aibench_onnx.timing.loop import measure

        attempts = [measure(prepared.run, prepared.sync, timing)]
        while _contaminated(attempts[-1]) and len(attempts) <= self.MAX_REMEASURES and not self.persistent:
            self.remeasured += 1
            _wait_for_quiet(self.QUIET_WAIT_S)
            attempts.append(measure(prepared.run, prepared.sync, timing))
        if len(attempts) > 1:
            self.failed_in_a_row = self.failed_in_a_row + 1 if _contaminated(attempts[-1]) else 0
        kept = min(attempts, key=lambda m: (m.contention or {}).get("other_share", 0.0))
        discarded = [{"median_s": m.median, "calls": m.total_calls, "cause": m.contention["cause"]}
                     for m in attempts if m is not kept]
        return kept, discarded

    def to_dict(self) -> dict:
        return {"remeasured": self.remeasured, "persistent": self.persistent}


def _contaminated(measurement) -> bool:
    return bool(measurement.contention and measurement.contention["contaminated"])


def _wait_for_quiet(max_s: float) -> None:
    from aibench_onnx.timing.contention import OTHER_SHARE_LIMIT, machine_load

    waited = 0.0
    while waited < max_s:
        load = machine_load(0.1)
        waited += 0.1
        if load is None or load.other_share < OTHER_SHARE_LIMIT / 2:
            return


def _measure_item(item, settings, meter, remeasure: Remeasure) -> dict:
    """One item (timing.schedule.TimingItem) over every batch of `settings` (TimingSettings): its result."""
    from aibench_onnx.ort.session import EpUnavailable

    config = item.config
    result: dict = {"job_id": item.job_id, "model": item.subject.name, "config": config.to_dict(), "status": Status.OK,
                    "reason": "", "batches": {}, "round": item.round}
    try:
        _measure_batches(item, settings, meter, result, remeasure)
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


def _measure_batches(item, settings, meter, result: dict, remeasure: Remeasure) -> None:
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.prepared import GraphCall
    from aibench_onnx.runtimes import timed_call
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
        measurement, discarded = remeasure.measure(prepared, settings.timing)
        energy = meter.stop(reading, measurement.total_calls + sum(d["calls"] for d in discarded))
        result["batches"][str(batch)] = {"measurement": measurement.to_dict(), "info": prepared.info,
                                         "cold": {**prepared.cold, "first_call_s": measurement.first_call_s},
                                         "energy": energy, **({"remeasured": discarded} if discarded else {})}
        del prepared
    result["peak_device_memory"] = meter.peak_device_memory(getattr(fw, "peak_device_memory", None))
