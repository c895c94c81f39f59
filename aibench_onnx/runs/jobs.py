"""The jobs of `aibench run`. Parity jobs (export one model from one framework, check ORT against native)
run a framework at a time: one process of that framework builds, runs and exports every model, then ORT
checks each. Timing jobs (one runtime configuration of one model in one round) go through the bench's
scheduler, several to a timing process. Each process has a timeout; a job whose process crashed or hung is
recorded as such, and the run goes on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from aibench_onnx.runs.job import BenchJob, GenerationJob, Job, ParityJob
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import Finish, JobRecord
from aibench_onnx.status import Status, overall


def job_record(job: Job, started: float, **fields) -> JobRecord:
    """A job's record for results.jsonl: what ran, when, and `fields` (status, reason, result, ...)."""
    ended = time.time()
    return JobRecord(job.job_id, job.kind, job.model, job.framework, job.size, started=started, ended=ended,
                     duration_s=round(ended - started, 3), **fields)


def run_parity_jobs(jobs: list[Job], settings: RunSettings, finish: Finish) -> None:
    """The run's parity jobs of one framework: the zoo's, then users' own models (each in processes of its
    own), then decoders' generation checks. Every job ends as one record, passed to `finish`, as soon as its
    comparison is done."""
    parity = [job for job in jobs if isinstance(job, ParityJob)]
    _run_zoo_parity_jobs([job for job in parity if job.user is None], settings, finish)
    for job in parity:
        if job.user is not None:
            finish(_user_parity_record(job, settings))
    for job in jobs:
        if isinstance(job, GenerationJob):
            finish(_generation_record(job, settings))


def _generation_record(job: GenerationJob, settings: RunSettings) -> JobRecord:
    """A decoder's generation check (generation.run): the native reference and the export in the framework's
    process, ONNX Runtime's checks in another; artifacts under <run>/<model>/<graph>/generation."""
    from aibench_onnx.generation.run import GenerationSettings, check_generation
    from aibench_onnx.subjects import Subject

    started = time.time()
    generation = GenerationSettings(job.batch, job.prompt, job.new_tokens, 0, job.eps, job.opt_levels, job.threads,
                                    job.opset, settings.repro_dir)
    result = check_generation(Subject.of_zoo(job.model, job.size), job.framework, generation,
                              Path(settings.run_dir) / "generation", _parity_export(Path(settings.run_dir), job))
    return job_record(job, started, status=overall(result.statuses), reason=result.reason, result=result.to_dict())


def _user_parity_record(job: ParityJob, settings: RunSettings) -> JobRecord:
    """Build and export in the framework's process (the record kept as export.json, which timing reuses),
    then the parity engine's check in a worker. A factory or input the user got wrong fails this job with its
    one-line reason; the run goes on."""
    from aibench_onnx.artifacts.user_export import export_or_failure
    from aibench_onnx.frameworks.user_model import UserModel
    from aibench_onnx.jsonio import json_default
    from aibench_onnx.launch import run_worker
    from aibench_onnx.parity.export_check import ExportCheckRequest

    started = time.time()
    out_dir = Path(settings.run_dir) / job.model / job.framework
    export = export_or_failure(UserModel(**job.user), out_dir, job.opset, settings.timeout_s, job.precisions)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "export.json").write_text(json.dumps(export, default=json_default))
    repro_dir = str(Path(settings.repro_dir) / job.model / job.framework) if settings.repro_dir else None
    request = ExportCheckRequest(job.model, job.size, job.framework, export, job.eps, job.opt_levels, job.threads,
                                 job.precisions, job.error_stats, job.graph_runtimes, job.user, job.opset,
                                 settings.timeout_s, repro_dir)
    outcome = run_worker("export_check", request, settings.timeout_s, out_dir / "parity_request.json")
    if not outcome.ok:
        return job_record(job, started, status=outcome.status if outcome.died else Status.FAILED,
                           reason=outcome.reason)
    result = outcome.document["result"]
    return job_record(job, started, status=overall(c["status"] for c in result["cells"]), result=result)


def _run_zoo_parity_jobs(jobs: list[ParityJob], settings: RunSettings, finish: Finish) -> None:
    """Every zoo model's native run and export in one process of the framework (imported once), then ORT per
    model in processes of its own."""
    if not jobs:
        return
    from aibench_onnx.parity.zoo import ExportParity, Lost, check_in_one_process, prepare_parity
    from aibench_onnx.zoo.registry import get_spec

    run_dir = Path(settings.run_dir)
    started = time.time()
    prepared = []
    for job in jobs:
        found = prepare_parity(get_spec(job.model), job.size, job.framework, list(job.eps), list(job.opt_levels),
                               job.seeds, job.threads, run_dir, job.opset, precisions=job.precisions,
                               error_stats=job.error_stats, runtimes=job.graph_runtimes,
                               repro_dir=Path(settings.repro_dir) if settings.repro_dir else None)
        if isinstance(found, ExportParity):  # the framework is not installed
            finish(job_record(job, started, status=overall(c.status for c in found.cells), result=found.to_dict()))
        else:
            prepared.append((job, found))
    if not prepared:
        return
    results = check_in_one_process([found for _, found in prepared], settings.timeout_s,
                                   [job.job_id for job, _ in prepared])
    for (job, _), result in zip(prepared, results):
        if isinstance(result, Lost):  # the framework's process died before this job: it shares that fate
            finish(job_record(job, started, status=result.status, reason=result.reason))
            continue
        finish(job_record(job, started, status=overall(c.status for c in result.cells), result=result.to_dict()))
        started = time.time()


def _parity_export(run_dir: Path, job: GenerationJob) -> dict | None:
    """The decoder's graph as this run's parity job exported it (the same artifact key), so a generation job
    checks — and the timing times — the one graph; None when there is none (then the generation job exports)."""
    from aibench_onnx.artifacts.export import artifact_key

    path = run_dir / job.model / job.framework / "export.json"
    record = json.loads(path.read_text()) if path.exists() else None
    if record is None or record.get("status") != Status.OK or not Path(record["path"]).exists():
        return None
    same = record.get("artifact_key") == artifact_key(job.model, job.size, job.framework, job.opset)
    return record if same else None


def resolve_export(run_dir: Path, subject, framework: str, opset: int, threads: int, cache: dict) -> dict:
    """The export record of (subject, graph) for timing: the parity job's graph when nothing it depends on
    changed (a zoo model: the same artifact key; a user's model: the parity job's export of this run), else a
    fresh export in the framework's own process."""
    model = subject.spec.name if subject.user is None else subject.name  # a decoder's phases share its export
    key = (model, framework)
    if key not in cache:
        from aibench_onnx.artifacts.export import artifact_key
        from aibench_onnx.artifacts.subject_export import export_subject

        record_path = run_dir / model / framework / "export.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        reusable = record is not None and (subject.user is not None or record.get("artifact_key") == artifact_key(
            model, subject.size, framework, opset))
        cache[key] = record if reusable else export_subject(subject, framework, run_dir / "bench" / model,
                                                             threads, opset)
    return cache[key]


def _variant(run_dir: Path, subject, config, export: dict, cache: dict) -> dict:
    """The record of the variant a reduced-precision timing job runs, built once per subject x graph x
    precision from the export the fp32 jobs time."""
    key = (subject.name, config.framework, config.precision)
    if key not in cache:
        from aibench_onnx.artifacts.variants import subject_calibration
        from aibench_onnx.timing.bench import with_variants

        found = with_variants({config.framework: export}, [config], lambda: subject_calibration(subject),
                              run_dir / "bench" / subject.name / "variants")
        cache[key] = found[config.export_key()]
    return cache[key]


def planned_graphs(run_dir: Path) -> dict[str, dict]:
    """subject -> its graphs (export key -> record) as run.json fixed them before the plan (a bench's run); none
    for an `aibench run`'s, whose timing reuses its parity jobs' exports (or a Ray node's copy, without run.json)."""
    from aibench_onnx.runs.store import RUN_FILE, load_run

    return load_run(run_dir).get("exports") or {} if (Path(run_dir) / RUN_FILE).exists() else {}


def run_timing_jobs(run_dir: Path, jobs: list[BenchJob], settings: RunSettings, finish: Finish) -> None:
    """The run's timing jobs (one configuration x model x round each) through the timing scheduler: round by
    round, one process per runtime group. Every job ends as one record, passed to `finish`. The graphs timed:
    those run.json lists (a bench's), else the parity jobs' exports (or fresh ones) and their variants."""
    from aibench_onnx.measuring.loop import TimingConfig
    from aibench_onnx.timing.bench import blocked
    from aibench_onnx.timing.schedule import TimingItem, TimingSettings, run_items

    exports: dict = {}
    variants: dict = {}
    given = planned_graphs(run_dir)
    by_id = {job.job_id: job for job in jobs}
    items = []

    def record(job: BenchJob, result: dict, process: dict | None, wall_s: float) -> JobRecord:
        died = result["status"] in (Status.CRASHED, Status.TIMEOUT)  # the process's fate, not the job's verdict
        return job_record(job, time.time() - wall_s, round=job.round,
                           status=result["status"] if died else overall([result["status"]]),
                           reason=result.get("reason", ""), result={**result, "process": process})

    for job in jobs:
        config, subject = job.config, job.subject
        if not config.runs_graph:
            export = {}
        elif subject.name in given:  # a bench's: exported (or given) before the plan
            export = given[subject.name].get(config.export_key(), {})
        else:
            export = resolve_export(run_dir, subject, config.framework, settings.opset, settings.threads, exports)
            if config.precision != "fp32":
                export = _variant(run_dir, subject, config, export, variants)
        stopped = blocked(subject.known_export_failures, config, {config.export_key(): export})
        if stopped is not None:
            finish(record(job, {"config": config.to_dict(), "status": stopped.status, "reason": stopped.reason,
                                "batches": {}, "round": job.round}, None, 0.0))
            continue
        items.append(TimingItem(job.job_id, subject, config, job.round, export.get("path")))
    common = TimingSettings(settings.threads, tuple(settings.batches), TimingConfig(**settings.timing),
                            settings.device, settings.tf32,
                            str(run_dir / "bench" / "trt-cache"))
    run_items(items, common, settings.timeout_s,
              lambda item, result, process: finish(record(by_id[item.job_id], result, process,
                                                          result.get("wall_s", 0.0))))
