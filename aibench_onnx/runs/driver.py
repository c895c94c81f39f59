"""One run from its settings to its last record: the plan, run.json, the jobs not yet recorded, and the rounds
added for effects still unresolved. The CLI parses and shows; this drives."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from aibench_onnx.runs.adaptive import resolve
from aibench_onnx.runs.report import build_report
from aibench_onnx.runs.run import pending_jobs, plan_jobs, run_jobs, start_run
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import RUN_FILE, Finish


def execute_run(run_dir: Path, settings: RunSettings, specs, targets: dict[str, dict] | None,
                on_planned: Callable[[int, int, list[str]], None], on_record: Finish,
                on_added: Callable[[int], None]) -> None:
    """A run from its settings: plan its jobs, start run.json (a new run: `targets` holds each Ray target's
    environment, or None), run the jobs not yet recorded, then add rounds for unresolved effects when the
    settings ask. `on_planned(to run, planned, problems)` once; `on_record` per record; `on_added(jobs)` per
    added round. A resumed run is one whose run.json exists."""
    jobs = plan_jobs(settings, specs)
    if not (run_dir / RUN_FILE).exists():
        from aibench_onnx.env.collect import collect_environment

        start_run(run_dir, settings, jobs, collect_environment(), targets)
    todo, problems = pending_jobs(run_dir, jobs)
    on_planned(len(todo), len(jobs), problems)

    def run_round(extra: list[dict]) -> None:
        on_added(len(extra))
        run_jobs(run_dir, extra, settings, on_record)

    run_jobs(run_dir, todo, settings, on_record)
    if settings.target_mde:
        resolve(run_dir, settings, jobs, lambda found: build_report(found).effects, run_round)
