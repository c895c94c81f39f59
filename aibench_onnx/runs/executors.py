"""Where a run's jobs execute. An executor takes the planned jobs and a `finish(record)` callback (which appends
the record to results.jsonl) and runs every job in a fresh process with its timeout, exactly as planned:

- `local` (the default): on this machine — parity jobs a framework at a time, two frameworks at once, then the
  timing jobs round by round, one process per runtime group, alone (nothing else runs while one measures).
- `ray`: on a Ray cluster, every job on every selected target (runs/ray_executor.py; `aibench-onnx[ray]`).

A Slurm executor (submitit) would fill the same two methods.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable, Protocol

from aibench_onnx.runs.job import BenchJob, GenerationJob, Job, ParityJob
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import Finish

EXECUTORS = ("local", "ray")
PARITY_WORKERS = 2


class Executor(Protocol):
    def run(self, run_dir: Path, jobs: list[Job], settings: RunSettings, finish: Finish) -> None: ...

    def stop(self) -> None:
        """Ctrl-C: end what runs now (its jobs get no record, so --resume runs them again)."""


class LocalExecutor:
    def __init__(self):
        self._pool: ThreadPoolExecutor | None = None

    def run(self, run_dir: Path, jobs: list[Job], settings: RunSettings, finish: Finish) -> None:
        run_local(run_dir, jobs, settings, finish, self._started)

    def _started(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    def stop(self) -> None:
        from aibench_onnx.launch import kill_active_workers

        kill_active_workers()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def run_local(run_dir: Path, jobs: list[Job], settings: RunSettings, finish: Finish,
              started: Callable[[ThreadPoolExecutor], None] = lambda pool: None) -> None:
    """The jobs on this machine (also what a Ray task runs on its node): parity first, a framework at a time
    and two frameworks at once, then timing round by round, alone."""
    from aibench_onnx.runs.jobs import run_parity_jobs, run_timing_jobs

    parity = parity_by_framework(jobs)
    # the framework with the most work first, so the two lanes end together
    order = sorted(parity, key=lambda fw: (fw != "jax", -len(parity[fw])))
    pool = ThreadPoolExecutor(max_workers=PARITY_WORKERS)
    started(pool)  # Ctrl-C: the caller's stop() kills the workers and drops the pool without waiting
    running = {pool.submit(run_parity_jobs, parity[fw], settings.with_changes(run_dir=str(run_dir)), finish)
               for fw in order}
    while running:
        done, running = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            future.result()
    pool.shutdown()
    run_timing_jobs(run_dir, [job for job in jobs if isinstance(job, BenchJob)], settings, finish)


def parity_by_framework(jobs: list[Job]) -> dict[str, list[Job]]:
    """framework -> its parity jobs (a decoder's generation checks among them): they time nothing, so two
    frameworks' lanes may run side by side."""
    parity: dict[str, list[Job]] = {}
    for job in jobs:
        if isinstance(job, (ParityJob, GenerationJob)):
            parity.setdefault(job.framework, []).append(job)
    return parity
