"""The jobs of `aibench run`. A parity job (export one model from one framework, check ORT against native)
runs in a process of its own (workers.job); timing jobs (one runtime configuration of one model in one
round) go through the bench's scheduler, several to a timing process. The parent gives each process a
timeout and records a job that crashes or hangs as such; the run goes on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from aibench_onnx.frameworks import ORT_RUNTIME
from aibench_onnx.status import Status, overall
from aibench_onnx.workers import apply_test_hook


def run_parity_job(job: dict, run_dir: Path) -> dict:
    from aibench_onnx.parity.zoo import export_and_check
    from aibench_onnx.zoo.registry import get_spec

    result = export_and_check(get_spec(job["model"]), job["size"], job["framework"], job["eps"], job["opt_levels"],
                              job["seeds"], job["threads"], run_dir, job["opset"])
    return {"status": overall(cell.status for cell in result.cells), "result": result.to_dict()}


def resolve_export(run_dir: Path, model: str, size: str, framework: str, opset: int, threads: int,
                   cache: dict) -> dict:
    """The export record of (model, framework) for timing: the parity job's graph when nothing it depends on
    changed (same artifact key), else a fresh export in the framework's own process."""
    key = (model, framework)
    if key not in cache:
        from aibench_onnx.frameworks.export import artifact_key
        from aibench_onnx.timing.bench import export_graphs
        from aibench_onnx.zoo.registry import get_spec

        record_path = run_dir / model / framework / "export.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        if record and record.get("artifact_key") == artifact_key(model, size, framework, opset):
            cache[key] = record
        else:
            cache[key] = export_graphs(get_spec(model), size, [framework], run_dir / "bench" / model, threads,
                                       opset)[framework]
    return cache[key]


def run_timing_jobs(run_dir: Path, jobs: list[dict], settings: dict, finish) -> None:
    """The run's timing jobs (one configuration x model x round each) through the bench's scheduler: round
    by round, one process per runtime group. Every job ends as one record, passed to `finish`."""
    from aibench_onnx.timing.bench import blocked
    from aibench_onnx.timing.configs import RuntimeConfig
    from aibench_onnx.timing.schedule import TimingItem, run_unit, units
    from aibench_onnx.zoo.registry import get_spec

    exports: dict = {}
    by_id = {job["job_id"]: job for job in jobs}
    items = []

    def record(job: dict, result: dict, process: dict | None, wall_s: float) -> dict:
        ended = time.time()
        return {"job_id": job["job_id"], "kind": "bench", "model": job["model"], "framework": job["framework"],
                "size": job["size"], "round": job["round"], "started": ended - wall_s, "ended": ended,
                "duration_s": round(wall_s, 3),
                "status": result["status"] if result["status"] in (Status.CRASHED, Status.TIMEOUT) else overall([result["status"]]),
                "reason": result.get("reason", ""), "result": {**result, "process": process}}

    for job in jobs:
        config = RuntimeConfig(**job["config"])
        export = (resolve_export(run_dir, job["model"], job["size"], config.framework, settings["opset"],
                                 settings["threads"], exports) if config.kind == ORT_RUNTIME else {})
        stopped = blocked(get_spec(job["model"]), config, {config.framework: export})
        if stopped is not None:
            finish(record(job, {"config": job["config"], "status": stopped.status, "reason": stopped.reason,
                                "batches": {}, "round": job["round"]}, None, 0.0))
            continue
        items.append(TimingItem(job["job_id"], job["model"], job["size"], config, job["round"], export.get("path")))
    common = {"threads": settings["threads"], "device": "cpu", "timing": settings["timing"],
              "batches": settings["batches"], "tf32": False, "cache_dir": str(run_dir / "bench" / "trt-cache")}
    for unit in units(items):
        run_unit(unit, common, settings["timeout_s"],
                 lambda item, result, process: finish(record(by_id[item.job_id], result, process,
                                                             result.get("wall_s", 0.0))))


def run_job(job: dict) -> dict:
    apply_test_hook(job["job_id"])
    return run_parity_job(job, Path(job["run_dir"]))
