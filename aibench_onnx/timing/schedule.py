"""Replicates, interleaved: each configuration is measured in R independent processes, round by round — round r
runs every configuration once before round r+1 starts, so slow drift (frequency, neighbours, caches) hits
every configuration alike. Within a round, the processes (one per runtime group) and the items inside each
process come in a shuffled order, seeded by the round, so no configuration always goes first or last.

Used by `aibench bench` and `aibench run` alike; each caller says what an item is called (its job id) and
what to do with each result as it comes.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.launch import run_worker_with_progress
from aibench_onnx.status import Status
from aibench_onnx.subjects import Subject
from aibench_onnx.timing.loop import TimingConfig

SHUFFLE_SEED = 20261129
# What aibench does to keep variance out of a measurement; recorded in the settings of every bench and run.
VARIANCE_CONTROLS = [
    "replicates in interleaved rounds, shuffled per round",
    "one process per runtime group and round; garbage collected between items",
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
        return {"job_id": self.job_id, "model": self.subject.name, "size": self.subject.size,
                "user": self.subject.user, "config": self.config.to_dict(), "onnx_path": self.onnx_path,
                "round": self.round}

    @classmethod
    def from_request(cls, data: dict) -> TimingItem:
        return cls(data.get("job_id", ""), Subject.from_dict(data), RuntimeConfig.from_dict(data["config"]),
                   data.get("round", 0), data.get("onnx_path"))


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


def run_unit(unit: list[TimingItem], settings: TimingSettings, timeout_s: float,
             on_result: Callable[[TimingItem, dict, dict], None]) -> None:
    """Measure `unit` in one fresh process.
    `on_result(item, result, process)` is called once per item — with a crashed/timeout result for each item
    the process had not finished when it died. `process` says where the item ran: round, group, items, start-up and wall time."""
    request = {**settings.to_dict(), "round": unit[0].round, "group": unit[0].config.process_group,
               "items": [item.request() for item in unit]}
    started = time.perf_counter()
    # `timeout_s` is per configuration: a process that measures several gets the sum of theirs
    outcome, finished = run_worker_with_progress("aibench_onnx.workers.timing", request, timeout_s * len(unit))
    wall_s = round(time.perf_counter() - started, 3)
    process = {"round": request["round"], "group": request["group"], "items": len(unit), "wall_s": wall_s,
               "threads": outcome.document.get("threads"), "startup_s": outcome.document.get("startup_s")}
    if not outcome.ok:  # what finished before the process died is kept; the rest carry its fate
        status = outcome.status if outcome.died else Status.FAILED
        for item, result in zip(unit, finished):
            on_result(item, result, process)
        for item in unit[len(finished):]:
            on_result(item, {"model": item.subject.name, "config": item.config.to_dict(), "status": status,
                             "reason": outcome.reason, "batches": {}, "round": item.round}, process)
        return
    for item, result in zip(unit, outcome.document["items"]):
        on_result(item, result, process)
