"""Replicates in rounds, slots interleaved inside each round: each configuration is measured in R independent
processes, round by round — round r runs every configuration once before round r+1 starts. Inside a round
the processes (one per runtime group) live side by side and the configurations of one model are sampled
alternately in short slots (A B C A C B …, shuffled per cycle), so slow drift (frequency, neighbours,
caches) and a neighbour's burst hit the two sides of an effect alike and cancel in their paired ratio;
between rounds, fresh processes count what differs from one process to the next.

Used by `aibench bench` and `aibench run` alike; each caller says what an item is called (its job id) and
what to do with each result as it comes.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.measuring.contention import SpanMeter, Window, describe_window, summarise, wait_for_quiet
from aibench_onnx.measuring.loop import TimingConfig
from aibench_onnx.subjects import Subject

SHUFFLE_SEED = 20261129
# What aibench does to keep variance out of a measurement; recorded in the settings of every bench and run.
VARIANCE_CONTROLS = [
    "replicates in rounds of fresh processes; inside a round, a model's configurations sampled in alternating "
    "slots, shuffled per cycle, each slot alone (the other processes blocked on a pipe)",
    "every graph of one graph runtime and provider in one process, its configurations alternated turn by turn "
    "inside each slot (side by side: exporter, optimizer and precision effects paired within one stretch); each "
    "turn starts with 1 ms of unrecorded calls (the caches refilled after the other session ran)",
    "ONNX Runtime: one intra-op thread pool per timing process, shared by its sessions (no idle pool spinning)",
    "two clocks: a block whose process CPU time falls under 75% of the median block's share of its wall time "
    "was preempted; it is left out and re-measured",
    "one process per runtime group and round; garbage collected between models",
    "a cycle other processes contaminated is measured again (bounded) and says so",
    "the parent's progress display redraws only when a result arrives",
    "same thread count and CPU affinity for every runtime",
    "timing processes never run beside another job",
]


@dataclass(frozen=True)
class TimingSettings:
    """What every timing process of one bench or run shares (its JSON form travels in each process's request)."""

    threads: int
    batches: tuple[int, ...]
    timing: TimingConfig = field(default_factory=TimingConfig)
    device: str = "cpu"  # where the native runtimes run
    tf32: bool = False  # CUDA: TF32 matmuls in the native runtimes and ORT's CUDA provider
    cache_dir: str = ""  # TensorRT's engine cache

    @classmethod
    def from_dict(cls, data: dict) -> TimingSettings:
        return cls(int(data["threads"]), tuple(int(b) for b in data["batches"]), TimingConfig(**data["timing"]),
                   data.get("device", "cpu"), bool(data.get("tf32", False)), data.get("cache_dir", ""))

    def to_dict(self) -> dict:
        return {**asdict(self), "batches": list(self.batches)}


@dataclass(frozen=True)
class TimingItem:
    job_id: str  # unique in its run: model, configuration and round
    subject: Subject
    config: RuntimeConfig
    round: int
    onnx_path: str | None = None  # graph runtimes' items: the exported graph (or its variant)

    def request(self) -> dict:
        subject = self.subject.to_dict()
        return {"job_id": self.job_id, **{k: v for k, v in subject.items() if k != "name"}, "model": subject["name"],
                "config": self.config.to_dict(), "onnx_path": self.onnx_path, "round": self.round}

    @classmethod
    def from_request(cls, data: dict) -> TimingItem:
        return cls(data.get("job_id", ""), Subject.from_dict(data), RuntimeConfig.from_dict(data["config"]),
                   data.get("round", 0), data.get("onnx_path"))


@dataclass(frozen=True)
class TimingUnitRequest:
    """One timing process's request (the live worker `timing`, timing/unit.serve): the shared settings, its
    round, its runtime group and its items."""

    settings: TimingSettings
    round: int
    group: str
    items: list[TimingItem]

    def to_dict(self) -> dict:
        return {**self.settings.to_dict(), "round": self.round, "group": self.group,
                "items": [item.request() for item in self.items]}

    @classmethod
    def from_dict(cls, data: dict) -> TimingUnitRequest:
        return cls(TimingSettings.from_dict(data), int(data["round"]), data.get("group", ""),
                   [TimingItem.from_request({"round": data["round"], **entry}) for entry in data["items"]])


def units(items: Iterable[TimingItem]) -> list[list[TimingItem]]:
    """Processes to start, in order: by round, then one per runtime group in a shuffled order, each with its
    items shuffled."""
    by_round: dict[int, dict[str, list[TimingItem]]] = {}
    for item in items:
        by_round.setdefault(item.round, {}).setdefault(item.config.process_group, []).append(item)
    ordered = []
    for round_index in sorted(by_round):
        rng = random.Random(SHUFFLE_SEED + round_index)
        groups = sorted(by_round[round_index].items())
        rng.shuffle(groups)
        for _, group_items in groups:
            group_items = sorted(group_items, key=lambda item: item.job_id)
            rng.shuffle(group_items)
            ordered.append(group_items)
    return ordered


def run_items(items: Iterable[TimingItem], settings: TimingSettings, timeout_s: float,
              on_result: Callable[[TimingItem, dict, dict], None]) -> None:
    """Measure every item, round by round (`units` decides the processes and their order). `on_result(item,
    result, process)` is called once per item as its model's slots end — with a crashed/timeout result for
    each item of a process that died; `process` says where the item ran."""
    by_round: dict[int, list[list[TimingItem]]] = {}
    for unit in units(items):
        by_round.setdefault(unit[0].round, []).append(unit)
    for round_index, round_units in by_round.items():
        InterleavedRound(round_index, round_units, settings, timeout_s, on_result).run()


MAX_REDOS = 2
PERSISTENT_AFTER = 3


def model_contention(spans: list[Window], cycles: list[dict]) -> dict | None:
    """What competed with a model's cycles (the kept attempt of each), as its measurements record it."""
    if not spans:
        return None
    found = summarise(spans).to_dict()
    bad = [c for c in cycles if c.get("contaminated")]
    if bad:
        found.update(contaminated=True, cause=f"{len(bad)} of {len(cycles)} cycles: {bad[0]['cause']}")
    return found


class InterleavedRound:
    """One round: every runtime group's process live at once (started together: imports overlap, measuring
    does not), then model by model: each process arms its items of the model (one process at a time, so
    warm-ups run alone), then `cycles` cycles in which every configuration and batch of the model is sampled
    for one slot, in an order shuffled per cycle — each slot alone on the machine, the others' processes
    blocked on a pipe — then the processes release the model's results. Paired slots of the same cycle see
    the same drift and the same neighbours' bursts, which cancel in their ratio (timing/processes.py). A
    process answers a slot only once its own threads have stopped spinning (timing/unit.settle), so the next
    slot starts alone."""

    def __init__(self, round_index: int, round_units: list[list[TimingItem]], settings: TimingSettings,
                 timeout_s: float, on_result: Callable[[TimingItem, dict, dict], None]) -> None:
        self.round, self.units, self.settings = round_index, round_units, settings
        self.timeout_s, self.on_result = timeout_s, on_result
        self.rng = random.Random(SHUFFLE_SEED + 7919 * round_index)
        self.reported: set[str] = set()
        self.persistent = 0  # cycles in a row still contaminated after their redos
        allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.cpus = set(allowed[:settings.threads]) if allowed else None  # where the timing threads run

    def run(self) -> None:
        from aibench_onnx.launch import LiveWorker

        started = time.perf_counter()
        workers = []
        for unit in self.units:
            workers.append(LiveWorker("timing", TimingUnitRequest(self.settings, self.round,
                                                                  unit[0].config.process_group, unit)))
        self.process = [{"round": self.round, "group": unit[0].config.process_group, "items": len(unit),
                         "processes_in_round": len(self.units)} for unit in self.units]
        try:
            for index, worker in enumerate(workers):
                hello = worker.read(self.timeout_s)
                if hello is None:
                    self._died(index, worker)
                    continue
                self.process[index].update(threads=hello.get("threads"), startup_s=hello.get("startup_s"),
                                           startup_wall_s=round(time.perf_counter() - started, 3))
            models = list(dict.fromkeys(item.subject.name for unit in self.units for item in unit))
            self.rng.shuffle(models)
            for model in models:
                self._model(model, workers)
        finally:
            for index, worker in enumerate(workers):
                worker.stop()
                self._died(index, worker)  # reports only what an early end left without a result

    def _model(self, model: str, workers: list) -> None:
        involved = [i for i, unit in enumerate(self.units)
                    if workers[i].alive and any(item.subject.name == model for item in unit)]
        keys: dict[int, list[str]] = {}
        for index in involved:
            items = sum(1 for item in self.units[index] if item.subject.name == model)
            reply = workers[index].call({"do": "arm", "model": model}, self.timeout_s * items)
            if reply is None:
                self._died(index, workers[index])
                continue
            for result in reply["failed"]:
                self._report(index, result)
            keys[index] = reply["keys"]
        cycles, spans = [], []
        for cycle in range(self.settings.timing.cycles):
            record, span = self._cycle(cycle, keys, workers)
            cycles.append(record)
            spans += [span] if span is not None else []
        contention = model_contention(spans, cycles)
        for index in keys:
            reply = workers[index].call({"do": "release", "model": model, "contention": contention}, self.timeout_s)
            if reply is None:
                self._died(index, workers[index])
                continue
            self.process[index]["idle"] = reply.get("idle")
            for result in reply["items"]:
                self._report(index, {**result, "cycles": cycles})

    def _cycle(self, cycle: int, keys: dict[int, list[str]], workers: list) -> tuple[dict, Window | None]:
        """Every key sampled for one slot, in a shuffled order; a cycle other processes contaminated (read over
        the whole cycle, the round's own processes excluded) is measured again — the whole cycle, so its pairs
        stay paired — at most MAX_REDOS times, after the machine quietens. Contention that outlasts
        PERSISTENT_AFTER cycles in a row stops the redos for the round."""
        ours = [os.getpid()] + [w.process.pid for w in workers if w.alive]
        redo, attempts = "", 0
        while True:
            meter = SpanMeter(self.cpus, ours)
            self._slots(cycle, keys, workers, redo)
            found = meter.stop()
            contaminated = bool(found and found.contaminated)
            if not contaminated or attempts >= MAX_REDOS or self.persistent >= PERSISTENT_AFTER:
                break
            attempts += 1
            redo = describe_window(found)
            wait_for_quiet(0.5)
        self.persistent = self.persistent + 1 if contaminated else 0
        record = {"cycle": cycle, "redone": attempts}
        if found is not None:
            record.update(other_share=round(found.other_share, 3), contaminated=contaminated)
            if contaminated:
                record["cause"] = describe_window(found)
        return record, found

    def _slots(self, cycle: int, keys: dict[int, list[str]], workers: list, redo: str) -> None:
        """One cycle: each process's turn in a shuffled order. A process with one key samples it for a slot; one
        with several (one graph runtime: every graph, level and precision of the model) alternates them turn
        by turn for a slot each (measuring.loop.alternate), so its effects are paired inside one stretch."""
        order = [index for index, found in keys.items() if found]
        self.rng.shuffle(order)
        for index in order:
            if not workers[index].alive or not keys[index]:
                continue
            seconds, extra = self.settings.timing.slot_s, {"redo": redo} if redo else {}
            if len(keys[index]) == 1:
                command = {"do": "slot", "key": keys[index][0], "seconds": seconds, "cycle": cycle, **extra}
            else:
                command = {"do": "alternate", "keys": list(keys[index]), "seconds": seconds, "cycle": cycle, **extra}
            reply = workers[index].call(command, self.timeout_s)
            if reply is None:
                self._died(index, workers[index])
                continue
            for result in reply.get("failed", []):
                # a configuration that failed mid-way: its keys leave the model's cycles
                self._report(index, result)
                keys[index] = [k for k in keys[index] if k.rsplit("#", 1)[0] != result["job_id"]]

    def _report(self, index: int, result: dict) -> None:
        item = next(i for i in self.units[index] if i.job_id == result["job_id"])
        self.reported.add(item.job_id)
        self.on_result(item, result, dict(self.process[index]))

    def _died(self, index: int, worker) -> None:
        """Every item of a process that died (or was never heard from) without its result shares its fate."""
        if worker.alive:
            return
        for item in self.units[index]:
            if item.job_id not in self.reported:
                self.reported.add(item.job_id)
                self.on_result(item, {"job_id": item.job_id, "model": item.subject.name,
                                      "config": item.config.to_dict(), "status": worker.status,
                                      "reason": worker.reason, "batches": {}, "round": item.round},
                               dict(self.process[index]))
