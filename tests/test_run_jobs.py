"""`aibench run` for real: a SIGKILLed run resumes without losing or repeating a job; a crashing job and a
hanging job are recorded and the run completes. (Small: one model, PyTorch only, quick timing.)"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import aibench_executable, run_aibench

pytestmark = [pytest.mark.slow, pytest.mark.torch]
QUICK_ONE = ["run", "--quick", "--models", "matmul", "-f", "torch", "--threads", "1"]


def job_ids(run_dir: Path) -> list[str]:
    path = run_dir / "results.jsonl"
    if not path.exists():
        return []
    ids = []
    for line in path.read_text().splitlines():
        try:
            ids.append(json.loads(line)["job_id"])
        except ValueError:
            pass
    return ids


def only_run_dir(parent: Path) -> Path:
    (run_dir,) = [p for p in parent.iterdir() if p.is_dir()]
    return run_dir


def records(run_dir: Path) -> dict[str, dict]:
    return {json.loads(line)["job_id"]: json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()}


def test_sigkilled_run_resumes_without_losing_or_repeating_jobs(tmp_path):
    process = subprocess.Popen([aibench_executable(), *QUICK_ONE, "--models", "matmul,softmax", "-o", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
        if dirs and len(job_ids(dirs[0])) >= 2:
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run_dir = only_run_dir(tmp_path)
    before = job_ids(run_dir)
    planned = json.loads((run_dir / "run.json").read_text())["jobs"]
    assert 2 <= len(before) < len(planned), before
    result = run_aibench("run", "--resume", str(run_dir), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = job_ids(run_dir)
    assert after[: len(before)] == before  # nothing finished was lost or rewritten
    # every job exactly once: none repeated, none missing — the planned ones and the rounds added for
    # effects not yet resolved (appended to the plan as they are decided)
    planned_now = json.loads((run_dir / "run.json").read_text())["jobs"]
    assert planned_now[: len(planned)] == planned and sorted(after) == sorted(planned_now)
    assert f"{len(planned) - len(before)} of {len(planned)} jobs to run" in result.stdout


def test_a_crashing_job_and_a_hanging_job_are_recorded_and_the_run_completes(tmp_path):
    """One run, two faults: a timing job's process aborts (SIGABRT, as a native crash would) and the parity job's
    hangs past --timeout; both are recorded as such, everything else runs."""
    hooks = "crash:bench/matmul/torch-eager/r0,hang:parity/matmul/torch"
    result = run_aibench(*QUICK_ONE, "--timeout", "20", "-o", str(tmp_path), env={"AIBENCH_TEST_JOB_HOOK": hooks},
                         timeout=600)
    assert result.returncode == 1  # a crashed or timed-out job fails the run's gate, after everything else ran
    found = records(only_run_dir(tmp_path))
    assert found["bench/matmul/torch-eager/r0"]["status"] == "crashed"
    assert "-6" in found["bench/matmul/torch-eager/r0"]["reason"]  # SIGABRT
    assert found["parity/matmul/torch"]["status"] == "timeout"
    assert "did not finish within 20 s" in found["parity/matmul/torch"]["reason"]
    # the other replicates of the crashed configuration are kept, and so is everything else: the graph's timing
    # exports the graph itself when the parity job that would have exported it hung
    assert found["bench/matmul/torch-eager/r1"]["status"] == found["bench/matmul/torch-eager/r2"]["status"] == "ok"
    assert found["bench/matmul/ort:torch-graph:cpu:all/r0"]["status"] == "ok"
    assert "crashed" in result.stdout and "timeout" in result.stdout
