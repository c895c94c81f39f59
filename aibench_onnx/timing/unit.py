"""One live timing process: the configurations of one runtime group, for several models, measured in the slots
the parent asks for — between the slots of the round's other processes (timing/schedule.py drives the round).

One process per runtime group per round, not one per configuration: process start-up and framework import
(4-8 s for torch, TF or JAX) would otherwise dominate a quick run. Runtimes never share a process with
another runtime. Request: round, group, threads, device, timing, batches, tf32, cache_dir, and items, each
{job_id, model, size, config, onnx_path}. Commands (JSON lines over launch.LiveWorker's pipes):

- `arm {model}`: prepare each of this process's items of that model at every batch — build, first call,
  warm-up, block size. Reply: `keys` (one per item and batch, ready to sample) and `failed` (the results of
  items that could not be prepared).
- `slot {key, seconds, cycle, redo?}`: sample that key for `seconds` in that cycle; the reply (the slot's
  median) comes once this process's threads are quiet. `redo` (why) when the parent measures a contaminated
  cycle again: the new slot replaces that cycle's, and the replaced one is recorded with the cause.
- `alternate {keys, seconds, cycle, redo?}`: several keys of this process sampled side by side, turn by turn,
  for a slot each (measuring.loop.alternate). Reply: each key's slot median. A slot or an alternation in which a
  configuration failed replies `failed`: the list of its results.
- `release {model, contention}`: the model's results (with the contention the parent judged over its cycles) — per item the record a configuration always had (status, batches
  with their measurement, info, cold costs, energy; now with its slots) — and its sessions are freed.
"""

from __future__ import annotations

import gc
import os
import random
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


def settle(max_s: float = 0.05, step_s: float = 0.001, quiet_share: float = 0.2) -> float:
    """Wait until this process's own threads stop running before the next process's slot starts: thread
    pools spin for a moment after their last task (measured here before this wait existed: an ONNX Runtime
    process used 69 ms of CPU during 54 ms of pauses after its 22 slots), and a spinning pool would compete
    with that slot. Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_s:
        cpu = time.process_time()
        time.sleep(step_s)
        if time.process_time() - cpu < quiet_share * step_s:
            break
    return round(time.perf_counter() - started, 4)


class IdleMeter:
    """CPU this process used while it waited for a command — its thread pools spinning after its slot, or
    background threads — which competes with the slot another process measures meanwhile."""

    def __init__(self, receive) -> None:
        self._receive = receive
        self.wall_s = self.cpu_s = 0.0

    def receive(self):
        wall, cpu = time.perf_counter(), time.process_time()
        command = self._receive()
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.process_time() - cpu
        return command

    def to_dict(self) -> dict:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 4),
                "cpu_share": round(self.cpu_s / self.wall_s, 4) if self.wall_s > 0 else None}


@dataclass
class _Batch:
    armed: object  # measuring.loop.Armed
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


def serve(document: dict, receive, reply) -> None:
    """The live process (launch.live_worker_main) of a TimingUnitRequest: answer `arm`, `slot` and `release`
    until told to exit."""
    threads = limit_threads(int(document["threads"]))  # before any framework is imported
    from aibench_onnx.timing.energy import EnergyMeter
    from aibench_onnx.timing.schedule import TimingUnitRequest

    request = TimingUnitRequest.from_dict(document)
    settings, items = request.settings, request.items
    if items and items[0].config.runs_graph:
        from aibench_onnx.runtimes import setup_timing_process

        setup_timing_process(items[0].config.kind, settings.threads)
    elif items:
        _import_framework(items[0].config.framework)
    meter = EnergyMeter(settings.device)
    live: dict[str, _Live] = {}  # key "job_id#batch" -> its item
    armed_order = 0
    waiting = IdleMeter(receive)
    rng = random.Random(request.round)  # the order of each alternation pass (measuring.loop.alternate)
    reply({"status": Status.OK, "threads": threads, "startup_s": round(time.perf_counter() - _STARTED, 3)})
    while (command := waiting.receive()) is not None:
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
                slot, replaced = batch.armed.sample_slot(command["seconds"], command["cycle"])
                batch.energy.add(meter.stop(reading, batch.armed.sampled_calls - calls_before))
                _record_replaced(batch, replaced, command)
                settled_s = settle()
                reply({"median_s": slot.median_s, "settled_s": settled_s})
            except Exception as exc:  # noqa: BLE001 - one configuration's failure is its result; the others go on
                _fail(entry, exc)
                for key in [k for k, e in live.items() if e is entry]:
                    del live[key]
                reply({"failed": [_finish(entry, meter)]})
        elif command["do"] == "alternate":
            reply(_alternate(command, live, meter, rng))
        elif command["do"] == "release":
            released = list({id(e): e for e in live.values() if e.item.subject.name == command["model"]}.values())
            for key in [k for k, e in live.items() if e.item.subject.name == command["model"]]:
                del live[key]
            reply({"items": [_finish(entry, meter, command.get("contention")) for entry in released],
                   "idle": waiting.to_dict()})
            del released
            gc.collect()  # the model's sessions and thread pools go before the next model is armed


def _import_framework(framework: str) -> None:
    """Import the framework before saying ready: the round's processes start together, so their imports (TF
    4-5 s, torch and JAX 2 s here) overlap instead of adding up in the first model's arm phase, which runs
    one process at a time. A framework that cannot be imported fails at arm, where each item gets its result."""
    from aibench_onnx.frameworks import adapter

    try:
        adapter(framework)
    except Exception:  # noqa: BLE001 - reported per item when it is armed
        pass


def _record_replaced(batch: _Batch, replaced, command: dict) -> None:
    """A redone cycle's slot replaced an earlier one (measuring.loop.Armed.keep_slot): keep what it was and why."""
    if replaced is not None:
        batch.remeasured.append({"cycle": command["cycle"], "median_s": replaced.median_s,
                                 "cause": command.get("redo", "")})


def _alternate(command: dict, live: dict[str, _Live], meter, rng) -> dict:
    """`alternate {keys, seconds, cycle}`: this process's keys of one model sampled side by side, turn by turn
    (measuring.loop.alternate), each for `seconds`. Energy: the span's joules shared by each key's calls times
    its median call, the unrecorded calls counted (one reading per block would cost more than it measures).
    Reply: each key's slot median, the results of configurations that failed mid-way, and the settle time."""
    from aibench_onnx.measuring.loop import alternate

    keys = [key for key in command["keys"] if key in live]
    batches = {key: live[key].batches[int(key.rsplit("#", 1)[1])] for key in keys}
    calls_before = {key: batch.armed.sampled_calls for key, batch in batches.items()}
    reading = meter.start()
    slots, raised = alternate({key: batch.armed for key, batch in batches.items()}, command["seconds"],
                              command["cycle"], rng)
    calls = {key: batches[key].armed.sampled_calls - calls_before[key] for key in slots}  # unrecorded ones too
    energy = meter.stop(reading, sum(calls.values()))
    busy_s = {key: calls[key] * slot.median_s for key, (slot, _) in slots.items()}
    total_s = sum(busy_s.values()) or 1.0
    medians = {}
    for key, (slot, replaced) in slots.items():
        batch = batches[key]
        joules = {"joules_total": energy["joules_total"] * busy_s[key] / total_s} if energy.get("available") else {}
        batch.energy.add({**energy, "calls": calls[key], **joules})
        _record_replaced(batch, replaced, command)
        medians[key] = slot.median_s
    failed = []
    for key, exc in raised.items():
        entry = live.get(key)
        if entry is None:  # another batch of the same configuration failed first
            continue
        _fail(entry, exc)
        for other in [k for k, e in live.items() if e is entry]:
            del live[other]
        failed.append(_finish(entry, meter))
    return {"medians": medians, "failed": failed, "settled_s": settle()}


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
    from aibench_onnx.measuring.loop import arm
    from aibench_onnx.prepared import GraphCall
    from aibench_onnx.runtimes import timed_call
    from aibench_onnx.timing.energy import EnergyTally

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


def _finish(entry: _Live, meter, contention: dict | None = None) -> dict:
    result = entry.result
    if result["status"] == Status.OK:
        for batch, found in entry.batches.items():
            measurement = found.armed.measurement("slots", contention)
            result["batches"][str(batch)] = {"measurement": measurement.to_dict(), "info": found.info,
                                             "cold": found.cold, "energy": found.energy.to_dict(meter.reason),
                                             **({"remeasured": found.remeasured} if found.remeasured else {})}
        result["peak_device_memory"] = meter.peak_device_memory(getattr(entry.fw, "peak_device_memory", None))
    result["peak_rss_bytes"] = _peak_rss_bytes()  # of the process so far (it may have measured other models)
    result.update(position=entry.position, wall_s=round(time.perf_counter() - entry.started, 3))
    entry.batches.clear()
    return result
