"""Replicates until resolved: after a run's planned rounds, the effects whose minimum detectable effect (MDE) is
still above the target get more rounds — only the two configurations of each such effect, interleaved as
every round is — until every effect is resolved, the rounds reach their cap, or the time budget for extra
rounds is spent. RUN_DIR/replicates.json says what was reached and what was not; the report shows it.

Why rounds and not longer slots: on the machines measured here what remains after interleaving is mostly per
process (a process slow or fast for its whole life), which only more processes average out; a round costs a
process start-up per runtime group, and it is spent only on the effects that need it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from aibench_onnx.runs.job import BenchJob, Job
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import add_jobs, latest_records, load_records

REPLICATES_FILE = "replicates.json"


@dataclass
class Resolution:
    target_mde: float
    budget_s: float
    max_repeats: int
    rounds: int = 0  # rounds in the run, extra ones included
    added_rounds: list[int] = field(default_factory=list)
    spent_s: float = 0.0
    stopped_by: str = ""  # "target reached" | "time budget" | "round cap" | "not available: ..."
    effects: int = 0
    resolved: int = 0
    unresolved: list[dict] = field(default_factory=list)  # model, batch, kind, baseline, candidate, mde
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [resolved, effects]

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for the report's first screen."""
        missing = ", ".join(f"{u['model']} b{u['batch']} {u['kind']} {u['candidate']} vs {u['baseline']} (±"
                            f"{_percent(u['mde'])})" for u in self.unresolved[:3])
        more = f" …and {len(self.unresolved) - 3} more" if len(self.unresolved) > 3 else ""
        added = f", {len(self.added_rounds)} rounds added" if self.added_rounds else ""
        kinds = ", ".join(f"{kind} {resolved} of {total}" for kind, (resolved, total) in self.by_kind.items())
        text = (f"Replicates: {self.resolved} of {self.effects} effects resolved to ±{100 * self.target_mde:g}% "
                f"{f'({kinds}) ' if kinds else ''}in up to {self.rounds} rounds{added} ({self.stopped_by})")
        return text + (f"; not resolved: {missing}{more}." if self.unresolved else ".")


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.1f}%"


# Effects whose two sides are sessions of one timing process (measuring.loop.alternate): these a round resolves
# best, so they are named first among the unresolved.
SIDE_BY_SIDE_KINDS = ("exporter", "optimizer", "precision")


def unresolved_effects(effects: dict[str, list[dict]], target: float) -> tuple[int, list[dict]]:
    """(effects counted, those whose MDE is above `target` or not estimable — side-by-side kinds first), over
    every model."""
    found, counted = [], 0
    for model, model_effects in effects.items():
        for effect in model_effects:
            counted += 1
            if effect.get("mde") is None or effect["mde"] > target:
                found.append({"model": model, "batch": effect["batch"], "kind": effect["kind"],
                              "baseline": effect["baseline"], "candidate": effect["candidate"], "mde": effect.get("mde")})
    found.sort(key=lambda u: u["kind"] not in SIDE_BY_SIDE_KINDS)  # stable: the report's order within each
    return counted, found


def resolved_by_kind(effects: dict[str, list[dict]], unresolved: list[dict]) -> dict[str, list[int]]:
    """kind -> [resolved, effects], in the order the kinds first appear."""
    totals: dict[str, list[int]] = {}
    for model_effects in effects.values():
        for effect in model_effects:
            totals.setdefault(effect["kind"], [0, 0])[1] += 1
    for kind, counts in totals.items():
        counts[0] = counts[1] - sum(1 for u in unresolved if u["kind"] == kind)
    return totals


def next_round_jobs(planned: list[Job], unresolved: list[dict], round_index: int) -> list[BenchJob]:
    """The bench jobs of round `round_index` for both configurations of every unresolved effect."""
    wanted = {(u["model"], label) for u in unresolved for label in (u["baseline"], u["candidate"])}
    jobs, seen = [], set()
    for job in planned:
        if not isinstance(job, BenchJob) or job.round != 0:
            continue
        key = (job.model, job.config.label)
        if key in wanted and key not in seen:
            seen.add(key)
            jobs.append(job.in_round(round_index))
    return jobs


def round_seconds(run_dir: Path, jobs: list[BenchJob]) -> float:
    """How long the round of `jobs` took last time: per model, its longest job (a model's configurations are
    measured together), summed."""
    latest = latest_records(load_records(run_dir)[0])
    by_model: dict[str, float] = {}
    for job in jobs:
        previous = latest.get(job.job_id.rsplit("/r", 1)[0] + f"/r{job.round - 1}")
        if previous:
            by_model[job.model] = max(by_model.get(job.model, 0.0), previous.duration_s)
    return sum(by_model.values())


def resolve(run_dir: Path, settings: RunSettings, planned: list[Job], effects_of: Callable[[Path], dict],
            run_round: Callable[[list[BenchJob]], None]) -> Resolution:
    """Add rounds for unresolved effects (see the module docstring). `effects_of(run_dir)`: model -> its effects
    as the report computes them; `run_round(jobs)`: runs one round's jobs and records them."""
    resolution = Resolution(settings.target_mde, settings.budget_s, settings.max_repeats)
    rounds = max((job.round for job in planned if isinstance(job, BenchJob)), default=-1) + 1
    rounds = max(rounds, _recorded_rounds(run_dir))
    started = time.monotonic()
    while True:
        effects = effects_of(run_dir)
        resolution.effects, resolution.unresolved = unresolved_effects(effects, resolution.target_mde)
        resolution.resolved = resolution.effects - len(resolution.unresolved)
        resolution.by_kind = resolved_by_kind(effects, resolution.unresolved)
        resolution.rounds = rounds
        if not resolution.unresolved:
            resolution.stopped_by = "target reached"
            break
        if settings.executor == "ray":
            resolution.stopped_by = "not available: a Ray run keeps its planned rounds"
            break
        if rounds >= resolution.max_repeats:
            resolution.stopped_by = f"round cap of {resolution.max_repeats} reached"
            break
        jobs = next_round_jobs(planned, resolution.unresolved, rounds)
        spent = time.monotonic() - started
        if not jobs or spent + round_seconds(run_dir, jobs) > resolution.budget_s:
            resolution.stopped_by = f"time budget of {resolution.budget_s:.0f} s for extra rounds reached"
            break
        add_jobs(run_dir, [job.job_id for job in jobs])
        run_round(jobs)
        resolution.added_rounds.append(rounds)
        rounds += 1
    resolution.spent_s = round(time.monotonic() - started, 1)
    (run_dir / REPLICATES_FILE).write_text(json.dumps(resolution.to_dict(), indent=2))
    return resolution


def _recorded_rounds(run_dir: Path) -> int:
    """Rounds already in the run (an earlier resolve added some: --resume continues from there)."""
    rounds = [record.round or 0 for record in load_records(run_dir)[0] if record.kind == "bench"]
    return max(rounds, default=-1) + 1


def load_resolution(run_dir: Path) -> Resolution | None:
    path = Path(run_dir) / REPLICATES_FILE
    if not path.exists():
        return None
    try:
        return Resolution(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None
