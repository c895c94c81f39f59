"""One job of `aibench run`, run in a process of its own (workers.job).

A job is either a parity job (export one model from one framework, check ORT against native) or a bench
job (time one runtime configuration of one model). The parent gives each job a timeout and records a job
that crashes or hangs as such; the run goes on.

Test hook: AIBENCH_TEST_JOB_HOOK="crash:SUBSTRING" or "hang:SUBSTRING" makes a job whose id contains
SUBSTRING abort or hang, so tests can prove that crashes and timeouts are recorded.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from aibench_onnx.frameworks import ORT_RUNTIME
from aibench_onnx.status import overall


def _test_hook(job_id: str) -> None:
    hook = os.environ.get("AIBENCH_TEST_JOB_HOOK", "")
    action, _, pattern = hook.partition(":")
    if not pattern or pattern not in job_id:
        return
    if action == "crash":
        os.abort()  # SIGABRT, as a native crash would
    if action == "hang":
        while True:
            time.sleep(60)


def run_parity_job(job: dict, run_dir: Path) -> dict:
    from aibench_onnx.parity.zoo import export_and_check
    from aibench_onnx.zoo.registry import get_spec

    result = export_and_check(get_spec(job["model"]), job["size"], job["framework"], job["eps"], job["opt_levels"],
                              job["seeds"], job["threads"], run_dir, job["opset"])
    return {"status": overall(cell.status for cell in result.cells), "result": result.to_dict()}


def run_bench_job(job: dict, run_dir: Path) -> dict:
    from aibench_onnx.timing.bench import RuntimeConfig, bench_model
    from aibench_onnx.zoo.registry import get_spec

    config = RuntimeConfig(**job["config"])
    exports = None
    if config.kind == ORT_RUNTIME:  # the parity job's export of the same model and framework
        from aibench_onnx.frameworks.export import artifact_key

        record_path = run_dir / job["model"] / config.framework / "export.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        key = artifact_key(job["model"], job["size"], config.framework, job["opset"])
        # Reuse the stored graph only when nothing it depends on changed; otherwise export again.
        exports = {config.framework: record} if record and record.get("artifact_key") == key else None
    bench = bench_model(get_spec(job["model"]), job["size"], [config], job["batches"], job["threads"], job["timing"],
                        run_dir / "bench", job["device"], job["timeout_s"], job["opset"], exports=exports)
    outcome = bench.results[0]
    return {"status": overall([outcome.status]), "reason": outcome.reason, "result": outcome.to_dict()}


def run_job(job: dict) -> dict:
    _test_hook(job["job_id"])
    return (run_parity_job if job["kind"] == "parity" else run_bench_job)(job, Path(job["run_dir"]))
