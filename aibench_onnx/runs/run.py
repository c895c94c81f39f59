"""`aibench run`: plan the whole matrix as jobs, run each in a fresh process with a timeout, append each
job's record to results.jsonl the moment it ends, and resume by running only the jobs that have none.

Parity jobs (export + ORT parity per model x framework) go first, two frameworks at a time (runs/jobs.py):
they do not time anything.
Bench jobs (one runtime configuration of one model in one round) then run round by round, in one timing
process per runtime group and round, alone, so no timing shares the CPU (timing/schedule.py).
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from aibench_onnx.runs.job import BenchJob, GenerationJob, Job, ParityJob
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import (
    Finish,
    JobRecord,
    append_record,
    latest_records,
    load_records,
    write_run_file,
)
from aibench_onnx.runtimes import REFERENCE, default_graph_runtimes, other_graph_runtimes
from aibench_onnx.status import Status
from aibench_onnx.subjects import USER_SIZE, Subject
from aibench_onnx.timing.configs import plan as plan_configs

# Extra rounds for effects not yet resolved to `target_mde` (runs/adaptive.py), within `budget_s` and up to
# `max_repeats` rounds in all.
# Decoders: generation parity (`generation`: a batch of prompts, greedy over new tokens) and timing by phase
# (`phases`: each prompt length's prefill, and decode steps with the cache at the start and end of new_tokens).
# The quick run times batch 1 only: its time is spent where a first look resolves effects (the graph effects,
# side by side) rather than on a second batch; batch scaling (1, 8) is the full run's.
QUICK = {"size": "tiny", "seeds": 1, "opt_levels": ["all"], "batches": [1], "repeats": 3,
         "generation": {"batch": 2, "prompt": 8, "new_tokens": 16}, "phases": {"prompts": [16], "new_tokens": 32},
         "target_mde": 0.10, "budget_s": 30.0, "max_repeats": 5,
         "runtimes": ["torch-eager", "tf-function", "jax-jit", *default_graph_runtimes()],
         # each configuration in 3 processes, each sampled in 4 slots of 50 ms between the model's other
         # configurations (a 15-ms re-warm before each)
         "timing": {"min_time_s": 0.2, "slot_s": 0.05, "rewarm_s": 0.015, "warmup_s": 0.05, "warmup_max_s": 0.2},
         # one intra-op thread: the tiny models' calls last 5-300 µs, where a second thread's hand-offs are most
         # of what 2 threads add, and on a 2-vCPU VM whose host gives the second vCPU in phases they made whole
         # processes and runs bimodal. Measured (issue 28, quick runs on this VM): an A/A compare's median
         # detectable change 18-74 % at 2 threads, 9.5 % at 1; effects resolved to ±10 % 23-42 of 73 vs 50 of 73.
         # Thread scaling is the full run's (physical cores), and --threads chooses.
         "threads": 1}
FULL = {"size": None, "seeds": 3, "opt_levels": ["disabled", "all"], "batches": [1, 8], "repeats": 5,
        "generation": {"batch": 4, "prompt": 16, "new_tokens": 32}, "phases": {"prompts": [16, 128], "new_tokens": 32},
        "target_mde": 0.05, "budget_s": 1200.0, "max_repeats": 10,
        "runtimes": None, "timing": {"min_time_s": 1.0}, "threads": None}


def plan_jobs(settings: RunSettings, specs) -> list[Job]:
    """Every job of the run, in execution order, each with a stable id (resume matches on it)."""
    jobs: list[Job] = []
    common = {"threads": settings.threads, "opset": settings.opset, "run_dir": settings.run_dir}
    precisions = tuple(settings.precisions)
    # the reference runtime checks every export; other graph runtimes timed in this run (OpenVINO) check it too
    graph_runtimes = (REFERENCE, *other_graph_runtimes(settings.runtimes))
    eps, levels = tuple(settings.eps), tuple(settings.opt_levels)
    for spec in specs:
        size = settings.size or spec.default_size
        for framework in settings.frameworks:
            jobs.append(ParityJob(**common, job_id=f"parity/{spec.name}/{framework}", model=spec.name, size=size,
                                  framework=framework, eps=eps, opt_levels=levels, seeds=settings.seeds,
                                  precisions=precisions, error_stats=settings.error_stats,
                                  graph_runtimes=graph_runtimes))
    for spec in specs:
        if spec.decoder is not None and settings.generation:  # runs from before decoders: none
            size = settings.size or spec.default_size
            jobs += [GenerationJob(**common, job_id=f"generation/{spec.name}/{framework}", model=spec.name, size=size,
                                   framework=framework, eps=eps, opt_levels=levels, **settings.generation)
                     for framework in settings.frameworks]
    for user in settings.user_models:  # users' own models: each with its one framework
        jobs.append(ParityJob(**common, job_id=f"parity/{user['name']}/{user['framework']}", model=user["name"],
                              size=USER_SIZE, framework=user["framework"], user=user, eps=eps, opt_levels=levels,
                              precisions=precisions, error_stats=settings.error_stats, graph_runtimes=graph_runtimes))
    configs = plan_configs(list(settings.frameworks), list(settings.runtimes), list(eps), list(levels), [True],
                           (False,), precisions)
    subjects = [(subject, configs) for subject in timed_subjects(specs, settings)]
    subjects += [(subject, plan_configs([subject.user["framework"]], list(settings.runtimes), list(eps), list(levels),
                                        [True], (False,), precisions))
                 for subject in user_subjects(settings)]
    jobs += bench_jobs(subjects, settings.repeats, common)  # a run from before replicates had one process each
    if settings.targets:  # a Ray run: every job on every target
        from aibench_onnx.runs.targets import for_targets

        jobs = for_targets(jobs, list(settings.targets))
    return jobs


def bench_jobs(subjects: list[tuple[Subject, list]], repeats: int, common: dict) -> list[BenchJob]:
    """A timing job per subject x configuration x round, round by round (a run's, or a bench's whole plan);
    `common`: the jobs' threads, opset and run_dir."""
    return [BenchJob(**common, job_id=f"bench/{subject.name}/{config.label}/r{round_index}", model=subject.name,
                     size=subject.size, framework=config.framework, config=config, round=round_index, subject=subject)
            for round_index in range(repeats) for subject, configs in subjects for config in configs]


def timed_subjects(specs, settings: RunSettings) -> list:
    """The run's zoo subjects to time: each model, a decoder by its phases (settings.phases)."""
    from aibench_onnx.timing.bench import zoo_subjects

    if not settings.phases:  # runs from before decoders were timed by phase
        return [Subject.of_zoo(spec.name, settings.size) for spec in specs]
    return zoo_subjects(specs, settings.size, tuple(settings.phases["prompts"]), settings.phases["new_tokens"])


def user_subjects(settings: RunSettings) -> list[Subject]:
    """The users' own models a run times, each a subject at the users' size (its own framework's configs)."""
    return [Subject.of_user(user, size=USER_SIZE) for user in settings.user_models]


def run_subjects(run: dict) -> dict[str, Subject]:
    """name -> Subject of everything a run (its run.json) times, by the name its records carry: a bench's run
    lists its subjects; an `aibench run`'s are those plan_jobs plans from its settings — each zoo model (a decoder
    by its phases) and each user's model."""
    from aibench_onnx.zoo.registry import MODELS, get_spec

    if run.get("subjects"):
        return {name: Subject.from_dict(subject) for name, subject in run["subjects"].items()}
    settings = RunSettings.from_dict(run["settings"])
    specs = [get_spec(name) for name in settings.models if name in MODELS]
    subjects = timed_subjects(specs, settings) + user_subjects(settings)
    return {subject.name: subject for subject in subjects}


def phase_subjects(run: dict) -> dict[str, Subject]:
    """name -> Subject of each decoder phase a run (its run.json) times (none in runs from before decoder phases)."""
    return {name: subject for name, subject in run_subjects(run).items() if subject.phase}


def start_run(run_dir: Path, settings: RunSettings, jobs: list[Job], environment: dict,
              targets: dict[str, dict] | None = None, **plan) -> None:
    """run.json: settings, the driver's environment, each target's (collected on it), the planned job ids, and
    what else the plan fixed (a bench's: its command, subjects and exports)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_run_file(run_dir, {"created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                             "settings": settings.to_dict(), "environment": environment,
                             "jobs": [j.job_id for j in jobs], **({"targets": targets} if targets else {}), **plan})


def pending_jobs(run_dir: Path, jobs: list[Job]) -> tuple[list[Job], list[str]]:
    """Jobs without a final record. A job recorded as crashed or timed out is final too: resume does not
    repeat it (rerun it with a new run). A lost job (its machine went away) is not."""
    records, problems = load_records(run_dir)
    done = {job_id for job_id, record in latest_records(records).items() if record.status != Status.LOST}
    return [job for job in jobs if job.job_id not in done], problems


def run_jobs(run_dir: Path, jobs: list[Job], settings: RunSettings,
             on_record: Finish | None = None) -> None:
    """Run `jobs` on the run's executor (here, or on a Ray cluster: runs/executors.py), appending each record
    to results.jsonl as it ends. Ctrl-C stops what runs and keeps what finished."""

    lock, stopping = threading.Lock(), threading.Event()

    def finish(record: JobRecord) -> None:
        with lock:
            if stopping.is_set():  # cut short by Ctrl-C: not recorded, so --resume runs it again
                return
            append_record(run_dir, record)
            if on_record:
                on_record(record)

    executor = executor_for(settings)
    try:
        executor.run(run_dir, jobs, settings, finish)
    except KeyboardInterrupt:
        stopping.set()
        executor.stop()
        raise


def executor_for(settings: RunSettings):
    """The executor the settings ask for (runs.executors.Executor): local, or Ray (imported only then)."""
    from aibench_onnx.runs.executors import LocalExecutor

    if settings.executor == "ray":
        from aibench_onnx.runs.ray_executor import RayExecutor

        return RayExecutor()
    return LocalExecutor()
