"""Replicates until resolved: extra rounds for the effects whose detectable effect is above the target, and
only for their configurations; they stop at the target, at the time budget or at the round cap, and say which."""

import json

import numpy as np
from run_fixtures import bench_record, make_run, timings

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.adaptive import REPLICATES_FILE, load_resolution, next_round_jobs, resolve, unresolved_effects
from aibench_onnx.runs.job import BenchJob
from aibench_onnx.runs.report import build_report
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import JobRecord, append_record, load_run
from aibench_onnx.subjects import Subject

EAGER, GRAPH, OTHER = "torch-eager", "ort:torch-graph:cpu:all", "ort:jax-graph:cpu:all"


CONFIGS = {EAGER: RuntimeConfig.native("torch-eager", "torch"),
           GRAPH: RuntimeConfig.graph_runtime("ort", "torch", "cpu", "all"),
           OTHER: RuntimeConfig.graph_runtime("ort", "jax", "cpu", "all")}


def _planned(models=("mlp", "cnn")) -> list[BenchJob]:
    return [BenchJob(job_id=f"bench/{model}/{label}/r{r}", model=model, size="tiny", framework=config.framework,
                     threads=1, opset=18, run_dir="", config=config, round=r, subject=Subject.of_zoo(model, "tiny"))
            for model in models for label, config in CONFIGS.items() for r in range(3)]


def _effect(baseline: str, candidate: str, mde: float | None, batch: int = 1, kind: str = "runtime") -> dict:
    return {"batch": batch, "kind": kind, "baseline": baseline, "candidate": candidate, "mde": mde}


def _run_dir(tmp_path, duration_s: float = 1.0):
    records = []
    for job in _planned():
        record = bench_record(job.model, job.config.label, {1: timings(1e-3, seed=len(records))}, job.round)
        records.append({**record, "duration_s": duration_s})
    return make_run(tmp_path / "run", records)


class Rounds:
    """A fake run_round: records each extra round's jobs as the real one would, so the run grows."""

    def __init__(self, run_dir):
        self.run_dir, self.rounds = run_dir, []

    def __call__(self, jobs):
        self.rounds.append(jobs)
        for job in jobs:
            record = bench_record(job.model, job.config.label, {1: timings(1e-3)}, job.round)
            append_record(self.run_dir, JobRecord.from_dict(record))


def test_unresolved_effects_are_those_above_the_target_or_not_estimable():
    effects = {"mlp": [_effect(EAGER, GRAPH, 0.02), _effect(GRAPH, OTHER, 0.3)], "cnn": [_effect(EAGER, GRAPH, None)]}
    counted, found = unresolved_effects(effects, 0.05)
    assert counted == 3 and [(u["model"], u["candidate"]) for u in found] == [("mlp", OTHER), ("cnn", GRAPH)]


def test_an_extra_round_measures_both_sides_of_each_unresolved_effect_and_nothing_else():
    jobs = next_round_jobs(_planned(), [{"model": "mlp", "baseline": GRAPH, "candidate": OTHER}], 3)
    assert [job.job_id for job in jobs] == [f"bench/mlp/{GRAPH}/r3", f"bench/mlp/{OTHER}/r3"]
    assert all(job.round == 3 for job in jobs)


def test_rounds_stop_when_the_target_is_reached_and_the_plan_records_them(tmp_path):
    run_dir = _run_dir(tmp_path)
    answers = iter([{"mlp": [_effect(GRAPH, OTHER, 0.3)]}, {"mlp": [_effect(GRAPH, OTHER, 0.04)]}])
    rounds = Rounds(run_dir)
    found = resolve(run_dir, RunSettings(target_mde=0.05, budget_s=600, max_repeats=10), _planned(),
                    lambda _: next(answers), rounds)
    assert found.stopped_by == "target reached" and found.added_rounds == [3] and found.rounds == 4
    assert found.resolved == found.effects == 1 and found.unresolved == []
    assert [job.job_id for job in rounds.rounds[0]] == [f"bench/mlp/{GRAPH}/r3", f"bench/mlp/{OTHER}/r3"]
    assert f"bench/mlp/{OTHER}/r3" in load_run(run_dir)["jobs"]  # the report and --resume count them
    assert json.loads((run_dir / REPLICATES_FILE).read_text())["stopped_by"] == "target reached"


def test_rounds_stop_at_the_budget_and_say_what_was_not_reached(tmp_path):
    run_dir = _run_dir(tmp_path, duration_s=40.0)  # a round of the unresolved effects took 40 s last time
    rounds = Rounds(run_dir)
    found = resolve(run_dir, RunSettings(target_mde=0.05, budget_s=30, max_repeats=10), _planned(),
                    lambda _: {"mlp": [_effect(GRAPH, OTHER, 0.3)]}, rounds)
    assert rounds.rounds == [] and found.stopped_by == "time budget of 30 s for extra rounds reached"
    assert found.unresolved[0]["candidate"] == OTHER and found.resolved == 0
    assert "0 of 1 effects resolved to ±5%" in found.line() and "not resolved: mlp b1 runtime" in found.line()


def test_rounds_stop_at_the_round_cap(tmp_path):
    run_dir = _run_dir(tmp_path)
    rounds = Rounds(run_dir)
    found = resolve(run_dir, RunSettings(target_mde=0.05, budget_s=600, max_repeats=5), _planned(),
                    lambda _: {"mlp": [_effect(GRAPH, OTHER, 0.3)]}, rounds)
    assert len(rounds.rounds) == 2 and found.added_rounds == [3, 4]
    assert found.stopped_by == "round cap of 5 reached"


def test_the_report_shows_what_the_added_rounds_reached(tmp_path):
    run_dir = _run_dir(tmp_path)
    resolve(run_dir, RunSettings(target_mde=0.5, budget_s=0, max_repeats=3), _planned(),
            lambda found: build_report(found).effects, Rounds(run_dir))
    report = build_report(run_dir)
    assert report.resolution["target_mde"] == 0.5 and load_resolution(run_dir) is not None
    assert report.headline[-1].startswith("Replicates: ")
    assert np.isfinite(report.resolution["effects"])


def test_the_line_counts_each_kind_and_names_unresolved_side_by_side_effects_first(tmp_path):
    run_dir = _run_dir(tmp_path, duration_s=40.0)  # over the budget: no round is added
    effects = {"mlp": [_effect(EAGER, GRAPH, 0.4), _effect(GRAPH, OTHER, 0.03, kind="exporter")],
               "cnn": [_effect(EAGER, GRAPH, 0.02), _effect(GRAPH, OTHER, 0.2, kind="exporter")]}
    found = resolve(run_dir, RunSettings(target_mde=0.1, budget_s=30, max_repeats=10), _planned(), lambda _: effects,
                    Rounds(run_dir))
    assert found.by_kind == {"runtime": [1, 2], "exporter": [1, 2]}
    assert "2 of 4 effects resolved to ±10% (runtime 1 of 2, exporter 1 of 2)" in found.line()
    assert [(u["model"], u["kind"]) for u in found.unresolved] == [("cnn", "exporter"), ("mlp", "runtime")]
    assert load_resolution(run_dir).by_kind == found.by_kind
