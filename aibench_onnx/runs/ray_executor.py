"""`aibench run --executor ray`: the run's jobs on a Ray cluster, every job on every selected target.

The driver (this process) plans the jobs as a local run does and owns results.jsonl; each node runs a job
exactly as a local run would — the same worker module in a fresh process with the same timeout — inside a
Ray task that streams each finished record back (a Ray generator task), so a record reaches results.jsonl
the moment its job ends.

Honest measurement on a shared cluster: every node offers one `aibench_node` resource. A timing task takes
all of it, a parity task half, so a node measures alone — no other aibench job there while it times — while
two parity jobs may share it. Each task runs in a fresh Ray worker (`max_calls=1`). A target's timing tasks
are submitted round by round, so replicate rounds interleave per target as they do locally.

Nothing lost: a task whose node or worker dies gives a `lost` record for each of its jobs without one, and
is submitted once more to the same target; a job still lost is left for `--resume` (lost is not final).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from aibench_onnx.runs.job import BenchJob, Job
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import Finish, JobRecord
from aibench_onnx.runs.targets import (
    NODE_RESOURCE,
    Target,
    connect,
    like_a_local_process,
    node_dir,
    node_identity,
    still_there,
)
from aibench_onnx.status import Status

PARITY_SHARE = 0.5  # two parity tasks may share a node; a timing task takes the whole node
RETRIES = 1


class RayExecutor:
    def __init__(self):
        self._submitted: list = []
        self._stopping = threading.Event()

    def run(self, run_dir: Path, jobs: list[Job], settings: RunSettings, finish: Finish) -> None:
        connect(settings.address)
        targets = [still_there(Target(**t)) for t in settings.target_specs]
        # not `with`: on Ctrl-C the lanes must not be waited for; stop() cancels their tasks
        lanes = ThreadPoolExecutor(max_workers=max(len(targets), 1))
        try:
            futures = [lanes.submit(self._run_target, target, [j for j in jobs if j.target == target.name],
                                    settings, finish) for target in targets]
            for future in futures:
                future.result()
        finally:
            lanes.shutdown(wait=False, cancel_futures=True)

    def stop(self) -> None:
        import ray

        self._stopping.set()
        for ref in self._submitted:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass

    def _run_target(self, target: Target, jobs: list[Job], settings: RunSettings,
                    finish: Finish) -> None:
        """One target's lane: its parity tasks (a framework each, in parallel), then its timing tasks round by
        round — a round's processes all end before the next round starts, as in a local run (a target with
        several nodes measures a round's processes side by side, each node alone)."""
        settings = settings.with_changes(run_dir=node_dir(settings.run_dir, target.name))
        from aibench_onnx.runs.executors import parity_by_framework

        self._run_tasks(target, [(group, PARITY_SHARE) for group in parity_by_framework(jobs).values()], settings,
                        finish)
        for round_groups in timing_rounds(jobs):
            if self._stopping.is_set():
                return
            self._run_tasks(target, [(group, 1.0) for group in round_groups], settings, finish)

    def _run_tasks(self, target: Target, groups: list[tuple[list[Job], float]], settings: RunSettings,
                   finish: Finish) -> None:
        if not groups:
            return
        with ThreadPoolExecutor(max_workers=len(groups)) as readers:
            for future in [readers.submit(self._run_group, target, group, share, settings, finish)
                           for group, share in groups]:
                future.result()

    def _run_group(self, target: Target, group: list[Job], share: float, settings: RunSettings,
                   finish: Finish) -> None:
        """One task's jobs; on a lost node or worker, `lost` records and one more try for what is left."""
        from ray.exceptions import RayError

        remaining = {job.job_id: job for job in group}
        for attempt in range(RETRIES + 1):
            started = time.time()
            if not target.alive():  # its last node went away: nothing to wait for
                for job in remaining.values():
                    finish(lost_record(job, started, f"target {target.name} has no live node; left for --resume"))
                return
            try:
                for record in self._stream(target, list(remaining.values()), share, settings):
                    remaining.pop(record.job_id, None)
                    finish(record)
                return
            except RayError as exc:
                if self._stopping.is_set():
                    return
                said = " ".join(str(exc).split())[:200] or "its node went away while it ran"
                reason = f"{type(exc).__name__} on target {target.name}: {said}"
                retry = attempt < RETRIES
                for job in remaining.values():
                    finish(lost_record(job, started, reason + ("; retried once" if retry else "; left for --resume")))
                if not remaining:
                    return

    def _stream(self, target: Target, jobs: list[Job], share: float, settings: RunSettings) -> Iterator[JobRecord]:
        import ray

        # max_retries=0: Ray would rerun a task whose worker died by itself, silently; aibench records the
        # loss (`lost`) and retries what has no record
        task = _run_jobs_on_node.options(num_cpus=0, max_retries=0, **target.placement(share))
        generator = task.remote(jobs, settings, target.name)
        self._submitted.append(generator)
        ended = threading.Event()
        threading.Thread(target=_cancel_when_gone, args=(target, generator, ended), daemon=True).start()
        try:
            for ref in generator:
                yield ray.get(ref)
        finally:
            ended.set()


def _cancel_when_gone(target: Target, generator, ended: threading.Event, every_s: float = 2.0) -> None:
    """A task whose target lost its last node would wait for ever (Ray keeps it pending, and a retry may be
    submitted before Ray has marked the node dead): cancel it, so the lane records it lost and goes on."""
    import ray

    while not ended.wait(every_s):
        if not target.alive():
            try:
                ray.cancel(generator, force=True)
            except Exception:  # noqa: BLE001 - finished meanwhile
                pass
            return


def timing_rounds(jobs: list[Job]) -> list[list[list[BenchJob]]]:
    """The timing jobs round by round, each round's grouped as the local scheduler groups them into processes
    (one per runtime group), so a node measures a group in one fresh process, as a local run does."""
    rounds: dict[int, dict[str, list[BenchJob]]] = {}
    for job in jobs:
        if isinstance(job, BenchJob):
            rounds.setdefault(job.round, {}).setdefault(job.config.process_group, []).append(job)
    return [list(rounds[r].values()) for r in sorted(rounds)]


def lost_record(job: Job, started: float, reason: str) -> JobRecord:
    from aibench_onnx.runs.jobs import job_record

    return job_record(job, started, status=Status.LOST, reason=reason, target=job.target)


def _node_task(jobs: list[Job], settings: RunSettings, target: str) -> Iterator[JobRecord]:
    """On the node: the jobs as a local run does them (runs/executors.run_local), each record stamped with the
    target and the node (id, host, hardware fingerprint) and yielded the moment it is made."""
    from aibench_onnx.runs.executors import run_local

    like_a_local_process()
    node = node_identity()
    Path(settings.run_dir).mkdir(parents=True, exist_ok=True)
    _die_once_if_asked(jobs, Path(settings.run_dir))
    records: queue.Queue = queue.Queue()
    done = object()

    def work() -> None:
        try:
            run_local(Path(settings.run_dir), jobs, settings, records.put)
        except BaseException as exc:  # noqa: BLE001 - raised again in the generator, where Ray sees it
            records.put(exc)
        finally:
            records.put(done)

    threading.Thread(target=work, daemon=True).start()
    while (item := records.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield replace(item, target=target, node=node)


def _die_once_if_asked(jobs: list[Job], node_dir: Path) -> None:
    """AIBENCH_TEST_RAY_HOOK="die:SUBSTRING": the Ray worker running a job whose id contains SUBSTRING exits
    as soon as the job's first process has started (the job surely still running), once per run — as a node
    that goes away mid-job — so tests can prove the job is recorded lost and retried. (A fixed delay raced
    against a job that can finish within it.)"""
    import os

    action, _, pattern = os.environ.get("AIBENCH_TEST_RAY_HOOK", "").partition(":")
    marker = node_dir / ".ray-test-hook-fired"
    if action != "die" or not pattern or not any(pattern in job.job_id for job in jobs) or marker.exists():
        return
    marker.write_text("")

    def exit_once_a_child_runs() -> None:
        while not _has_children():
            time.sleep(0.01)
        os._exit(1)

    threading.Thread(target=exit_once_a_child_runs, daemon=True).start()


def _has_children() -> bool:
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "children").read_text().strip():
                return True
        except OSError:  # a thread that ended meanwhile
            continue
    return False


def _remote():
    import ray

    return ray.remote(max_calls=1)(_node_task)  # a fresh worker process per task


class _Lazy:
    """The Ray task, made on first use: importing this module must not import Ray (an optional extra)."""

    def __init__(self):
        self._task = None

    def options(self, **options):
        if self._task is None:
            self._task = _remote()
        return self._task.options(**options)


_run_jobs_on_node = _Lazy()
__all__ = ["RayExecutor", "NODE_RESOURCE", "timing_rounds"]
