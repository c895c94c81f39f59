"""Replicates, interleaved: each configuration is measured in R independent processes, round by round — round r
runs every configuration once before round r+1 starts, so slow drift (frequency, neighbours, caches) hits
every configuration alike. Within a round, the processes (one per runtime group) and the items inside each
process come in a shuffled order, seeded by the round, so no configuration always goes first or last.

Used by `aibench bench` and `aibench run` alike; each caller says what an item is called (its job id) and
what to do with each result as it comes.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from aibench_onnx.status import Status
from aibench_onnx.timing.configs import RuntimeConfig
from aibench_onnx.workers import run_worker

SHUFFLE_SEED = 20261129
PER_ITEM_OVERHEAD_S = 60.0
# What aibench does to keep variance out of a measurement; recorded in the settings of every bench and run.
VARIANCE_CONTROLS = [
    "replicates in interleaved rounds, shuffled per round",
    "one process per runtime group and round; garbage collected between items",
    "the parent's progress display redraws only when a result arrives",
    "same thread count and CPU affinity for every runtime",
    "timing processes never run beside another job",
]  # building a model, compiling it or creating a session, per item and batch


@dataclass
class TimingItem:
    job_id: str  # unique in its run: model, configuration and round
    model: str
    size: str
    config: RuntimeConfig
    round: int
    onnx_path: str | None = None  # ORT items: the exported graph

    def request(self) -> dict:
        return {"job_id": self.job_id, "model": self.model, "size": self.size, "config": asdict(self.config),
                "onnx_path": self.onnx_path}


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


def unit_timeout(timeout_s: float, n_items: int, batches: list[int], timing: dict) -> float:
    """A process that measures several configurations gets `timeout_s` plus each one's worst case."""
    per_batch = timing.get("max_time_s", 10.0) + timing.get("warmup_max_s", 5.0)
    return timeout_s + n_items * (len(batches) * per_batch + PER_ITEM_OVERHEAD_S)


def run_unit(unit: list[TimingItem], settings: dict, timeout_s: float,
             on_result: Callable[[TimingItem, dict, dict], None]) -> None:
    """Measure `unit` in one fresh process. `settings`: threads, device, timing, batches, tf32, cache_dir.
    `on_result(item, result, process)` is called once per item — with a crashed/timeout result for every item
    when the process died. `process` says where the item ran: round, group, items, start-up and wall time."""
    with tempfile.TemporaryDirectory(prefix="aibench-unit-") as tmp:
        progress = Path(tmp) / "done.jsonl"
        request = {**settings, "round": unit[0].round, "group": unit[0].config.process_group,
                   "items": [item.request() for item in unit], "progress_path": str(progress)}
        started = time.perf_counter()
        outcome = run_worker("aibench_onnx.workers.timing", request,
                             unit_timeout(timeout_s, len(unit), settings["batches"], settings["timing"]))
        wall_s = round(time.perf_counter() - started, 3)
        finished = _finished(progress)
    process = {"round": request["round"], "group": request["group"], "items": len(unit), "wall_s": wall_s,
               "threads": outcome.document.get("threads"), "startup_s": outcome.document.get("startup_s")}
    if not outcome.ok:  # what finished before the process died is kept; the rest carry its fate
        status = outcome.status if outcome.died else Status.FAILED
        for item, result in zip(unit, finished):
            on_result(item, result, process)
        for item in unit[len(finished):]:
            on_result(item, {"model": item.model, "config": asdict(item.config), "status": status,
                             "reason": outcome.reason, "batches": {}, "round": item.round}, process)
        return
    for item, result in zip(unit, outcome.document["items"]):
        on_result(item, result, process)


def _finished(progress: Path) -> list[dict]:
    """The items a process finished, from its progress file (a line cut short by a crash is not one)."""
    found = []
    for line in progress.read_text().splitlines() if progress.exists() else []:
        try:
            found.append(json.loads(line))
        except ValueError:
            break
    return found
