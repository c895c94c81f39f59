"""A bench is a run. `aibench bench`, `noise`, `check --bench` and `generate --bench` export their subjects' graphs
(or are given them), plan one bench job per subject x configuration x round and hand them to the run's executor
and store (runs/run.run_jobs), as `aibench run` does its timing jobs: the bench's directory is a run directory
(run.json, results.jsonl) that `report`, `compare` and `explain` read as any run's. The bench's tables and its
`--json` are a view of that directory (bench_view: one ModelBench per subject)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from aibench_onnx.errors import UserError
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.run import bench_jobs, run_jobs, start_run
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import RUN_FILE, JobRecord, latest_records, load_records, load_run
from aibench_onnx.subjects import Subject
from aibench_onnx.timing.bench import (
    ModelBench,
    ProcessResult,
    aggregate,
    export_subjects,
    model_effects,
    zoo_subjects,
)
from aibench_onnx.timing.effects import control_discoveries
from aibench_onnx.timing.schedule import VARIANCE_CONTROLS
from aibench_onnx.zoo.spec import ModelSpec

def bench_run(subjects: list[Subject], configs: list[RuntimeConfig], batches: list[int], threads: int,
              timing: dict, run_dir: Path, device: str, timeout_s: float, opset: int, repeats: int = 1,
              on_result: Callable[[str, ProcessResult], None] | None = None, tf32: bool = False,
              exported: dict[str, dict] | None = None, command: str = "bench") -> list[ModelBench]:
    """Time every configuration of every subject in `repeats` rounds of processes, as a run in `run_dir`, and
    return the bench's view of it. `on_result(model, replicate)` is called as each process result comes
    in. `exported`: subject name -> its exports (and variants), made by the caller (one export serves every point
    of a user's dims sweep); the others are exported here. `command`: the one that asked (bench, noise, check,
    generate), kept in run.json (an `aibench run`'s has none) and shown by the report."""
    run_dir = Path(run_dir)
    refuse_earlier_run(run_dir)
    exports = export_subjects(subjects, configs, run_dir, threads, opset, exported)
    settings = RunSettings(frameworks=tuple(dict.fromkeys(c.framework for c in configs)),
                           eps=tuple(dict.fromkeys(c.ep for c in configs if c.ep)),
                           opt_levels=tuple(dict.fromkeys(c.opt_level for c in configs if c.opt_level)),
                           batches=tuple(batches), runtimes=tuple(dict.fromkeys(c.kind for c in configs)),
                           threads=threads, opset=opset, timeout_s=timeout_s, timing=dict(timing),
                           models=tuple(dict.fromkeys(s.spec.name for s in subjects if s.spec is not None)),
                           precisions=tuple(dict.fromkeys(c.precision for c in configs)), repeats=repeats,
                           device=device, tf32=tf32, variance_controls=tuple(VARIANCE_CONTROLS),
                           run_dir=str(run_dir.resolve()))
    jobs = bench_jobs([(subject, configs) for subject in subjects], repeats,
                      {"threads": threads, "opset": opset, "run_dir": settings.run_dir})
    from aibench_onnx.env.collect import collect_environment

    start_run(run_dir, settings, jobs, collect_environment(), command=command,
              subjects={s.name: s.to_dict() for s in subjects}, exports=exports)

    def reported(record: JobRecord) -> None:
        timed = record.timing
        if on_result and timed is not None:
            on_result(record.model, timed)

    run_jobs(run_dir, jobs, settings, reported)
    return bench_view(run_dir)


def bench_model(spec: ModelSpec, size: str, configs: list[RuntimeConfig], batches: list[int], threads: int,
                timing: dict, run_dir: Path, device: str, timeout_s: float, opset: int, repeats: int = 1,
                tf32: bool = False) -> ModelBench:
    """One zoo model's bench (see bench_run)."""
    return bench_run(zoo_subjects([spec], size), configs, batches, threads, timing, run_dir, device, timeout_s,
                     opset, repeats, tf32=tf32)[0]


def refuse_earlier_run(run_dir: Path) -> None:
    """A bench writes a run of its own: a directory that holds one already is refused (its results kept)."""
    if (Path(run_dir) / RUN_FILE).exists():
        raise UserError(f"{run_dir}: holds an earlier run ({RUN_FILE}); each timing writes a run of its own — "
                        "choose another --out")


def bench_view(run_dir: Path) -> list[ModelBench]:
    """The bench's view of its run directory: per subject (in plan order), each configuration over its processes
    and the effects among them (false discoveries controlled over the whole bench, as one family)."""
    run = load_run(run_dir)
    settings = RunSettings.from_dict(run["settings"])
    latest = latest_records(load_records(Path(run_dir))[0])
    replicates: dict[str, dict[RuntimeConfig, list[ProcessResult]]] = {}  # subject -> config (plan order) -> results
    for job_id in run.get("jobs", []):
        record = latest.get(job_id)
        timed = record.timing if record is not None else None
        if timed is not None:
            replicates.setdefault(record.model, {}).setdefault(timed.config, []).append(timed)
    benches = []
    for name, recorded in run.get("subjects", {}).items():
        subject = Subject.from_dict(recorded)
        results = [aggregate(config, found) for config, found in replicates.get(name, {}).items()]
        benches.append(ModelBench(name, subject.size, results, model_effects(results, settings.device),
                                  run.get("exports", {}).get(name, {}), subject.phase, settings.threads, recorded))
    control_discoveries([effect for bench in benches for effect in bench.effects])
    return benches


def user_sweep(user, sweeps: dict[str, list[int]], configs: list[RuntimeConfig], out_dir: Path,
               opset: int) -> tuple[list[Subject], dict[str, dict]]:
    """A user's model (frameworks.user_model.UserModel) over its dims sweep: one subject per point, all timing
    one export (made at the first point's sizes, its declared dims dynamic; a point the graph cannot take fails
    with the runtime's reason) and one set of its precision variants (int8-static calibrated at the export's
    sizes). Returns the subjects and the graphs they share (graph key -> record)."""
    import itertools
    from dataclasses import replace

    from aibench_onnx.artifacts.user_export import export_in_worker
    from aibench_onnx.artifacts.variants import subject_calibration
    from aibench_onnx.subjects import USER_SIZE
    from aibench_onnx.timing.bench import with_variants

    exports = {}
    if any(config.runs_graph for config in configs):
        exports[user.framework] = export_in_worker(user, Path(out_dir) / user.name / user.framework, opset)
    points = [dict(zip(sweeps, sizes)) for sizes in itertools.product(*sweeps.values())]
    subjects = []
    for point in points:
        label = ",".join(f"{name}={size}" for name, size in point.items())
        subjects.append(Subject.of_user(replace(user, dims=point), f"{user.name}@{label}" if len(points) > 1
                                        else user.name, label or USER_SIZE))
    exports.update(with_variants(exports, configs, lambda: subject_calibration(subjects[0]),
                                 Path(out_dir) / user.name))
    return subjects, exports
