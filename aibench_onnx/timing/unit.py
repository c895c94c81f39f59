"""One live timing process: the configurations of one runtime group, for several models, measured in the slots
the parent asks for — between the slots of the round's other processes (timing/schedule.py drives the round).

One process per runtime group per round, not one per configuration: process start-up and framework import
(4-8 s for torch, TF or JAX) would otherwise dominate a quick run. Runtimes never share a process with
another runtime. Request: round, group, threads, device, timing, batches, tf32, cache_dir, and items, each
{job_id, model, size, config, onnx_path}. Commands (JSON lines over launch.LiveWorker's pipes):

- `arm {model}`: prepare each of this process's items of that model at every batch — build, first call,
  warm-up, block size. Reply: `keys` (one per item and batch, ready to sample) and `failed` (the results of
  items that could not be prepared).
- `slot {key, seconds, cycle}`: sample that key for `seconds`, again when other processes contaminated the
  slot (Remeasure). Reply: the slot's median, and whether it was contaminated.
- `release {model}`: the model's results — per item the record a configuration always had (status, batches
  with their measurement, info, cold costs, energy; now with its slots) — and its sessions are freed.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from dataclasses import dataclass, field

from aibench_onnx.status import Status

_STARTED = time.perf_counter()  # as early as this process can know: start-up is what precedes the first command


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


class Remeasure:
    """A slot other processes contaminated is measured again after the machine quietens (at most
    MAX_REMEASURES times); the least contaminated attempt is kept and the others are recorded with their cause.
    Contention that outlasts PERSISTENT_AFTER slots in a row is persistent: re-measuring would only multiply
    the run's time, so the rest of the process measures once and its records say why."""

    MAX_REMEASURES = 2
    PERSISTENT_AFTER = 3
    QUIET_WAIT_S = 0.5

    def __init__(self) -> None:
        self.remeasured = 0
        self.failed_in_a_row = 0

    @property
    def persistent(self) -> bool:
        return self.failed_in_a_row >= self.PERSISTENT_AFTER

    def slot(self, armed, seconds: float, cycle: int) -> tuple[dict, list[dict]]:
        """Sample `armed` (timing.loop.Armed) for one slot: (the slot kept, the discarded attempts' median and cause)."""
        from aibench_onnx.timing.contention import describe_window

        attempts = [armed.sample_slot(seconds)]
        while attempts[-1].contaminated and len(attempts) <= self.MAX_REMEASURES and not self.persistent:
            self.remeasured += 1
            _wait_for_quiet(self.QUIET_WAIT_S)
            attempts.append(armed.sample_slot(seconds))
        if len(attempts) > 1:
            self.failed_in_a_row = self.failed_in_a_row + 1 if attempts[-1].contaminated else 0
        kept = min(attempts, key=lambda slot: slot.window.other_share if slot.window else 0.0)
        discarded = [{"cycle": cycle, "median_s": slot.median_s, "cause": describe_window(slot.window)}
                     for slot in attempts if slot is not kept]
        record = armed.keep(kept, cycle)
        if kept.contaminated:
            record["contaminated"] = describe_window(kept.window)
        return record, discarded

    def to_dict(self) -> dict:
        return {"remeasured": self.remeasured, "persistent": self.persistent}


def _wait_for_quiet(max_s: float) -> None:
    from aibench_onnx.timing.contention import OTHER_SHARE_LIMIT, machine_load

    waited = 0.0
    while waited < max_s:
        load = machine_load(0.1)
        waited += 0.1
        if load is None or load.other_share < OTHER_SHARE_LIMIT / 2:
            return


@dataclass
class _Batch:
    armed: object  # timing.loop.Armed
    info: dict
    cold: dict
    energy: object  # timing.energy.EnergyTally
    remeasured: list[dict] = field(default_factory=list)


@dataclass
class _Live:
    """One item of this process while its model is armed."""

    item: object  # timing.schedule.TimingItem
    result: dict
    position: int
    started: float
    batches: dict[int, _Batch] = field(default_factory=dict)
    model: object = None
    fw: object = None


def serve(request: dict, receive, reply) -> None:
    """The live process (launch.live_worker_main): answer `arm`, `slot` and `release` until told to exit."""
    threads = limit_threads(request["threads"])  # before any framework is imported
    from aibench_onnx.timing.energy import EnergyMeter
    from aibench_onnx.timing.schedule import TimingItem, TimingSettings

    settings = TimingSettings.from_dict(request)
    items = [TimingItem.from_request({"round": request["round"], **entry}) for entry in request["items"]]
    meter, remeasure = EnergyMeter(settings.device), Remeasure()
    live: dict[str, _Live] = {}  # key "job_id#batch" -> its item
    armed_order = 0
    reply({"status": Status.OK, "threads": threads, "startup_s": round(time.perf_counter() - _STARTED, 3)})
    while (command := receive()) is not None:
        if command["do"] == "arm":
            keys, failed = [], []
            for item in (i for i in items if i.subject.name == command["model"]):
                entry = _arm(item, settings, armed_order)
                armed_order += 1
                if entry.result["status"] == Status.OK:
                    keys += [f"{item.job_id}#{batch}" for batch in entry.batches]
                    live.update({f"{item.job_id}#{batch}": entry for batch in entry.batches})
                else:
                    failed.append(_finish(entry, meter))
            reply({"keys": keys, "failed": failed})
        elif command["do"] == "slot":
            entry = live[command["key"]]
            batch = entry.batches[int(command["key"].rsplit("#", 1)[1])]
            try:
                reading, calls_before = meter.start(), batch.armed.sampled_calls
                record, discarded = remeasure.slot(batch.armed, command["seconds"], command["cycle"])
                batch.energy.add(meter.stop(reading, batch.armed.sampled_calls - calls_before))
                batch.remeasured += discarded
                reply({"median_s": record["median_s"], "contaminated": record.get("contaminated", "")})
            except Exception as exc:  # noqa: BLE001 - one configuration's failure is its result; the others go on
                _fail(entry, exc)
                for key in [k for k, e in live.items() if e is entry]:
                    del live[key]
                reply({"failed": _finish(entry, meter)})
        elif command["do"] == "release":
            released = list({id(e): e for e in live.values() if e.item.subject.name == command["model"]}.values())
            for key in [k for k, e in live.items() if e.item.subject.name == command["model"]]:
                del live[key]
            reply({"items": [_finish(entry, meter) for entry in released], "remeasures": remeasure.to_dict()})
            del released
            gc.collect()  # the model's sessions and thread pools go before the next model is armed


def _arm(item, settings, position: int) -> _Live:
    """Prepare one item at every batch; a failure is its result."""
    from aibench_onnx.launch import apply_test_hook
    from aibench_onnx.ort.session import EpUnavailable

    apply_test_hook(item.job_id)
    config = item.config
    entry = _Live(item, {"job_id": item.job_id, "model": item.subject.name, "config": config.to_dict(),
                         "status": Status.OK, "reason": "", "batches": {}, "round": item.round},
                  position, time.perf_counter())
    try:
        _arm_batches(entry, settings)
    except EpUnavailable as exc:
        entry.result.update(status=Status.EP_UNAVAILABLE, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one configuration's failure is its result; the others go on
        _fail(entry, exc)
    return entry


def _fail(entry: _Live, exc: Exception) -> None:
    import traceback

    from aibench_onnx.ort.session import missing_kernel

    config = entry.item.config
    unsupported = missing_kernel(config.precision, config.ep or "", str(exc))
    entry.result.update(status=Status.UNAVAILABLE if unsupported else Status.FAILED,
                        reason=unsupported or f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                        traceback=traceback.format_exc(limit=6))


def _arm_batches(entry: _Live, settings) -> None:
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.prepared import GraphCall
    from aibench_onnx.runtimes import timed_call
    from aibench_onnx.timing.energy import EnergyTally
    from aibench_onnx.timing.loop import arm

    config, subject = entry.item.config, entry.item.subject
    if not config.runs_graph:
        entry.fw = adapter(config.framework)
        entry.fw.configure_threads(settings.threads)
        started = time.perf_counter()
        entry.model = subject.build(config.framework)
        entry.result["build_s"] = time.perf_counter() - started
    known_info = None  # what a graph runtime learnt at the first batch (ORT's provider audit)
    for batch in settings.batches:
        arrays = subject.arrays(batch)  # the same bytes in every process and runtime
        if entry.model is not None:
            prepared = entry.fw.prepare_timed(config.kind, entry.model, list(arrays.values()), settings.device)
        else:
            call = GraphCall(entry.item.onnx_path, config.ep, config.opt_level, settings.threads, config.io_binding,
                             config.cuda_graph, settings.tf32, settings.cache_dir, known_info)
            prepared = timed_call(config.kind)(call, arrays)
            known_info = prepared.info
        armed = arm(prepared.run, prepared.sync, settings.timing)
        entry.batches[batch] = _Batch(armed, prepared.info, {**prepared.cold, "first_call_s": armed.first_call_s},
                                      EnergyTally())


def _finish(entry: _Live, meter) -> dict:
    result = entry.result
    if result["status"] == Status.OK:
        for batch, found in entry.batches.items():
            measurement = found.armed.measurement("slots")
            result["batches"][str(batch)] = {"measurement": measurement.to_dict(), "info": found.info,
                                             "cold": found.cold, "energy": found.energy.to_dict(meter.reason),
                                             **({"remeasured": found.remeasured} if found.remeasured else {})}
        result["peak_device_memory"] = meter.peak_device_memory(getattr(entry.fw, "peak_device_memory", None))
    result["peak_rss_bytes"] = _peak_rss_bytes()  # of the process so far (it may have measured other models)
    result.update(position=entry.position, wall_s=round(time.perf_counter() - entry.started, 3))
    entry.batches.clear()
    return result
