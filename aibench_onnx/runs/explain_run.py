"""`aibench explain` on a run directory or a bench JSON: every significant effect of every model explained
(explain/), in a pass of its own after the timing, on this machine. A run keeps the result as explain.json
beside its records, where the report finds it (its "Why" section). On ONNX files: one file's optimizer
effect, or two files against each other."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from aibench_onnx.errors import UserError
from aibench_onnx.explain.explain import (
    EXPLAIN_SCHEMA_VERSION,
    NotExplained,
    Profiler,
    explain_effects,
    significant,
)
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.report.model import RunReport
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import (
    EXPLAIN_FILE,
    bench_runs,
    latest_records,
    load_bench_document,
    load_records,
    load_run,
)
from aibench_onnx.subjects import Subject


def _path_in(graphs: dict[str, dict]) -> Callable[[RuntimeConfig], str | None]:
    """The graph a configuration runs, from export records keyed as RuntimeConfig.export_key() says."""
    def path(config: RuntimeConfig) -> str | None:
        record = graphs.get(config.export_key()) or {}
        found = record.get("path")
        return found if found and Path(found).exists() else None

    return path


def explain_files(baseline: str, candidate: str | None, ep: str, level: str, threads: int,
                  dims: dict[str, int]) -> dict:
    """Two files: the candidate against the baseline at `level`. One file: level all against disabled. The
    profiles are taken in a temporary folder, removed once the explanation is made."""
    import tempfile

    from aibench_onnx.explain.explain import explain_pair
    from aibench_onnx.frameworks.file_inputs import file_feed
    from aibench_onnx.graph.load import load_user_model

    started = time.perf_counter()
    model = load_user_model(baseline)
    if candidate is not None:
        load_user_model(candidate)  # a missing or broken file: one line, before anything runs
    feed = file_feed(model, (), dims).arrays  # any declared dim name, or INPUT[AXIS] for an unnamed one
    if candidate is None:
        sides = ((f"{Path(baseline).name} {ep}/disabled", baseline, ep, "disabled"),
                 (f"{Path(baseline).name} {ep}/{level if level != 'disabled' else 'all'}", baseline, ep,
                  level if level != "disabled" else "all"))
        kind = "optimizer"
    else:
        sides = tuple((label, path, ep, level) for label, path in zip(_file_labels(baseline, candidate),
                                                                        (baseline, candidate)))
        kind = "graphs"
    with tempfile.TemporaryDirectory(prefix="aibench-explain-") as workdir:
        profiler = Profiler(threads, Path(workdir))
        found = explain_pair(Path(baseline).name if candidate is None else "files", kind, *sides, feed, profiler)
    return {"schema_version": EXPLAIN_SCHEMA_VERSION, "command": "explain", "threads": threads,
            "peaks": profiler.peaks, "wall_s": round(time.perf_counter() - started, 2),
            "explanations": [found.to_dict()]}


def _file_labels(first: str, second: str) -> tuple[str, str]:
    """The files' names, with as many parent folders as it takes to tell them apart (torch/model.onnx)."""
    a, b = Path(first).resolve().parts, Path(second).resolve().parts
    for depth in range(1, max(len(a), len(b)) + 1):
        labels = ("/".join(a[-depth:]), "/".join(b[-depth:]))
        if labels[0] != labels[1]:
            return labels
    return first, f"{second} (again)"


def explain_run(run_dir: str | Path, threads: int | None = None, every: bool = False,
                on_model: Callable[[str], None] | None = None) -> dict:
    """Explain a run's effects; written to RUN_DIR/explain.json and returned."""
    from aibench_onnx.runs.report import build_report

    run_dir = Path(run_dir)
    report = build_report(run_dir)
    run = load_run(run_dir)
    settings = RunSettings.from_dict(run["settings"])
    # model -> graph (or graph/precision) -> export record: a bench's, as its plan fixed them; a run's, its parity's
    graphs: dict[str, dict[str, dict]] = dict(run.get("exports") or {})
    for record in latest_records(load_records(run_dir)[0]).values():
        checked = record.parity
        if checked is not None and checked.export:
            found = graphs.setdefault(checked.model, {})
            found[checked.framework] = checked.export
            found.update({f"{checked.framework}/{p}": v for p, v in checked.variants.items()})
    document = _explain(report.effects, graphs, _run_subject(report, run, settings),
                        threads or settings.threads or 1, run_dir / "explain", every, on_model)
    save_run_explanations(run_dir, document)
    return document


def save_run_explanations(run_dir: str | Path, document: dict) -> None:
    """RUN_DIR/explain.json, which the run's report reads as its "Why"."""
    (Path(run_dir) / EXPLAIN_FILE).write_text(json.dumps({**document, "run_dir": str(run_dir)}, indent=1))


def explain_bench(path: str | Path, threads: int | None = None, every: bool = False,
                  on_model: Callable[[str], None] | None = None) -> dict:
    """Explain the effects of `aibench bench --json`'s document: its runs' (each a run directory, which keeps its
    explain.json), or — a document written before benches were runs — the effects it holds."""
    document = load_bench_document(path, "a run directory, an ONNX file")
    runs = bench_runs(document)
    if runs:
        explained = [explain_run(run_dir, threads, every, on_model) for run_dir in runs]
        return {**explained[0], "explanations": [e for found in explained for e in found["explanations"]],
                "wall_s": round(sum(found["wall_s"] for found in explained), 2)}
    settings = document.get("settings", {})
    effects = {model["model"]: model.get("effects", []) for model in document.get("results", [])}
    graphs = {model["model"]: model.get("exports", {}) for model in document.get("results", [])}
    sizes = {model["model"]: model.get("size") for model in document.get("results", [])}
    users = [settings["user_model"]] if settings.get("user_model") else []
    phases = {}
    decoders = {m["phase"]["decoder"]: m["size"] for m in document.get("results", []) if m.get("phase")}
    if decoders:  # decoders timed by phase, as bench planned them
        phases = {p.name: p for name, size in decoders.items()
                  for p in Subject.decoder_phases(name, size, settings["prompts"], settings["new_tokens"])}
    if settings.get("files"):  # ONNX files benched together: one subject, their inputs as given
        phases.update({model: Subject.of_files(model, settings["files"]) for model in effects})
    subjects = _bench_subject(document.get("results", []), _subjects(None, users, sizes, phases))
    return _explain(effects, graphs, subjects, threads or settings.get("threads", 1),
                    Path(path).parent / (Path(path).stem + "-explain"), every, on_model)


def _explain(effects: dict[str, list[dict]], graphs: dict[str, dict], subjects: Callable[[str], Subject],
             threads: int, workdir: Path, every: bool, on_model: Callable[[str], None] | None) -> dict:
    started = time.perf_counter()
    profiler = Profiler(threads, workdir)
    explanations = []
    for model, model_effects in effects.items():
        if on_model:
            on_model(model)
        try:
            subject = subjects(model)
        except UserError as exc:  # e.g. a Ray run's model@target: its graphs ran on another machine
            explanations += [NotExplained(f"{model} b{e['batch']}", e["baseline"], e["candidate"],
                                          f"not explained here ({exc})").to_dict()
                             for e in model_effects if every or significant(e)]
            continue
        found = explain_effects(subject, model_effects, _path_in(graphs.get(model) or graphs.get(subject.zoo_name, {})),
                                profiler, every)
        explanations += [e.to_dict() for e in found]
    return {"schema_version": EXPLAIN_SCHEMA_VERSION, "command": "explain", "threads": threads,
            "peaks": profiler.peaks, "wall_s": round(time.perf_counter() - started, 2), "explanations": explanations}


def _run_subject(report: RunReport, run: dict, settings: RunSettings) -> Callable[[str], Subject]:
    """A timed model's subject, by the report's typed key (its model and Ray target) and the run's plan."""
    from aibench_onnx.runs.run import run_subjects

    planned = run_subjects(run)

    def subject(shown: str) -> Subject:
        key = report.timed[shown]
        if key.target:
            raise UserError(f"{shown}: ran on the Ray target {key.target}; explain it on that machine")
        # a zoo model its settings do not name (a hand-made run directory): at the run's size
        return planned.get(key.model) or Subject.of_zoo(key.model, settings.size)

    return subject


def _bench_subject(results: list[dict], fallback: Callable[[str], Subject]) -> Callable[[str], Subject]:
    """A benched model's subject as the bench recorded it; `fallback` for documents written before it did."""
    recorded = {result["model"]: Subject.from_dict(result["subject"]) for result in results if result.get("subject")}
    return lambda model: recorded.get(model) or fallback(model)


def _subjects(size: str | None, users: list[dict], sizes: dict[str, str] | None = None,
              phases: dict[str, Subject] | None = None) -> Callable[[str], Subject]:
    """A model's subject by the name a bench written before benches recorded subjects gave it: a decoder's
    phase (`phases`, as the bench planned them), a user's model (a point of its dims sweep,
    `name@seq=8,batch=2`), or a zoo model at the bench's size."""
    def subject(model: str) -> Subject:
        if model in (phases or {}):
            return phases[model]
        name, _, point = model.partition("@")
        if point and "=" not in point:
            raise UserError(f"{model}: a Ray run's target; explain it on that machine")
        user = next((u for u in users if u["name"] == name), None)
        if user is not None:
            dims = dict(part.split("=", 1) for part in point.split(",")) if point else {}
            return Subject.of_user({**user, "dims": {**user.get("dims", {}), **{k: int(v) for k, v in dims.items()}}},
                                   model)
        return Subject.of_zoo(name, (sizes or {}).get(model) or size)

    return subject
