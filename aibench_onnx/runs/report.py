"""Turn a run directory into report data: parity matrix, latency tables with effects, export statistics,
warnings. Renderers (report/run_views.py, report/html_report.py) only format this data."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.report.model import ModelOnTarget, RunReport
from aibench_onnx.report.tables import latency_rows
from aibench_onnx.runs.adaptive import load_resolution
from aibench_onnx.runs.headline import headline
from aibench_onnx.runs.run import phase_subjects
from aibench_onnx.runs.settings import RunSettings
from aibench_onnx.runs.store import (
    JobRecord,
    latest_records,
    load_explanations,
    load_records,
    load_run,
)
from aibench_onnx.status import FAILING, NOT_AVAILABLE, Status
from aibench_onnx.timing.bench import ProcessResult, aggregate, model_effects
from aibench_onnx.timing.effects import control_discoveries
from aibench_onnx.zoo.precision import FP32


def build_report(run_dir: str | Path) -> RunReport:
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    records, problems = load_records(run_dir)
    latest = latest_records(records)
    warnings = list(problems)
    parity_rows, exports, replicates, variants, generation = [], {}, {}, {}, []
    for job_id in run.get("jobs", []):
        record = latest.get(job_id)
        if record is None:
            warnings.append(f"{job_id}: not run yet (resume with aibench run --resume {run_dir})")
            continue
        if record.status in (Status.CRASHED, Status.TIMEOUT):
            warnings.append(f"{job_id}: {record.status} — {record.reason}")
        if record.kind == "parity":
            if record.status not in (Status.CRASHED, Status.TIMEOUT):
                _parity(record, parity_rows, exports, warnings, variants)
        elif record.kind == "generation":
            _generation(record, generation, warnings)
        elif (timed := record.timing) is not None:  # one process's result; its replicates are gathered below
            key = (ModelOnTarget(record.model, record.target), timed.config)
            replicates.setdefault(key, []).append(timed)  # in plan order: the effects' reference graph first
        elif record.status not in (Status.CRASHED, Status.TIMEOUT):
            warnings.append(f"{job_id}: {record.status} — {record.reason}")
    warnings += low_priority_targets(latest.values())
    settings = RunSettings.from_dict(run["settings"])
    latency, effects, results = _timing(replicates, settings, warnings)
    jobs = run.get("jobs", [])
    report = RunReport(str(run_dir), run.get("command", "run"), run.get("created"), run["settings"],
                       run.get("environment", {}), len(jobs), sum(1 for job in jobs if job in latest), parity_rows,
                       variants, exports, latency, effects, warnings, run.get("targets", {}),
                       hardware_effects(results, list(settings.targets)), load_explanations(run_dir), generation,
                       _phases(run, results), {key.shown: key for key in results})
    resolution = load_resolution(run_dir)
    report.resolution = resolution.to_dict() if resolution else None
    report.headline = headline(report) + ([resolution.line()] if resolution else [])
    return report


# what the report's parity tables show of a cell (the stored cell has more: cases, divergence, repro, ...)
PARITY_ROW = ("model", "framework", "exporter", "ep", "opt_level", "status", "max_abs", "max_rel", "min_passing_atol",
              "reason", "blame", "tf32", "input_casts", "audit", "outputs", "inherent", "localization", "runtime",
              "precision")


def _parity(record: JobRecord, rows: list, exports: dict, warnings: list, variants: dict) -> None:
    checked = record.parity
    if checked is None:
        warnings.append(f"{record.job_id}: {record.status} — {record.reason}")
        return
    model = on_target(checked.model, record)
    export = checked.export or {}
    if export.get("graph"):
        graph = export["graph"]
        exports.setdefault(checked.framework, []).append(
            {"model": model, "exporter": f"{export['exporter']} {export['exporter_version']}",
             "nodes": graph["node_count"], "op_types": len(graph["op_histogram"]), "file_bytes": graph["file_bytes"],
             "export_s": export.get("export_s"), "suspicious": graph["suspicious"]})
    if checked.variants:
        variants[(model, checked.framework)] = checked.variants
    for cell in checked.cells:
        cell.model = on_target(cell.model, record)
        stored = cell.to_dict()
        rows.append({k: stored[k] for k in PARITY_ROW})
        label = "/".join([cell.model, cell.framework, cell.ep, cell.opt_level]
                         + ([] if cell.precision == FP32 else [cell.precision]))
        if cell.status in FAILING:
            warnings.append(f"parity {label}: {cell.status} — {cell.reason}")
            if cell.repro:
                from aibench_onnx.report.parity_view import repro_line

                warnings.append(f"parity {label}: {repro_line(cell.repro)}")
        elif cell.status in NOT_AVAILABLE:
            warnings.append(f"{cell.model}/{cell.framework} on {cell.ep}: unavailable — {cell.reason}")


def _generation(record: JobRecord, rows: list, warnings: list) -> None:
    """A decoder's generation check: its result for the table; what failed, as a warning too."""
    result = record.result
    if not result:
        warnings.append(f"{record.job_id}: {record.status} — {record.reason}")
        return
    rows.append({**result, "model": on_target(result["model"], record)})
    if result["status"] != Status.OK:
        warnings.append(f"generation {result['model']}/{result['graph']}: {result['status']} — {result['reason']}")
    for check in ([result["native"]] if result.get("native") else []) + result["checks"]:
        if check["status"] == Status.OK and not check["passed"]:
            where = "native" if check["runtime"] == "native" else f"{check['ep']}/{check['level']}"
            warnings.append(f"generation {result['model']}/{result['graph']} {where}: {check['verdict']}")


def low_priority_targets(records: Iterable[JobRecord]) -> list[str]:
    """A Ray node whose jobs ran above niceness 0 (Ray's workers start at 15 and aibench could not lower it:
    not root) measured at low priority: one warning per target."""
    found = {}
    for record in records:
        niceness = (record.node or {}).get("niceness")
        if record.kind == "bench" and niceness:
            found[record.target] = niceness
    return [f"target {target}: timing ran at niceness {niceness} (Ray's worker_niceness; aibench could not lower "
            f"it) — start the node with RAY_worker_niceness=0" for target, niceness in found.items()]


def on_target(model: str, record: JobRecord) -> str:
    """A record's model as the report names it (ModelOnTarget.shown)."""
    return ModelOnTarget(model, record.target).shown


def _phases(run: dict, results: dict[ModelOnTarget, list]) -> dict[str, dict]:
    """The decoder phase of each timed model, by the name the report shows (phase@target in a Ray run, whose
    decoder is then decoder@target too: each target gets its own TTFT/TPOT table)."""
    planned = {name: subject.phase for name, subject in phase_subjects(run).items()}
    return {key.shown: {**planned[key.model], "decoder": ModelOnTarget(planned[key.model]["decoder"], key.target).shown}
            for key in results if key.model in planned}


def hardware_effects(results: dict[ModelOnTarget, list], targets: list[str]) -> dict[str, list[dict]]:
    """model -> the same configuration on each other target against the first: a hardware effect (ratio of
    medians with its CI over processes, Welch: the targets ran side by side, not in shared rounds)."""
    from aibench_onnx.timing.processes import compare_replicates

    found: dict[str, list[dict]] = {}
    baseline, *others = targets or [None]
    for key, model_results in results.items():
        if key.target != baseline or not others:
            continue
        base = {r.config: r.samples_by_round() for r in model_results if r.status == Status.OK}
        for other in others:
            for result in results.get(ModelOnTarget(key.model, other), []):
                base_batches = base.get(result.config, {}) if result.status == Status.OK else {}
                for batch, samples in result.samples_by_round().items():
                    if batch in base_batches:
                        comparison = compare_replicates(base_batches[batch], samples, paired=False)
                        found.setdefault(key.model, []).append(
                            {**comparison.to_dict(), "kind": "hardware", "batch": batch,
                             "baseline": f"{result.config.label} @ {baseline}",
                             "candidate": f"{result.config.label} @ {other}"})
    return found


def _timing(replicates: dict[tuple[ModelOnTarget, RuntimeConfig], list[ProcessResult]], settings: RunSettings,
            warnings: list) -> tuple[dict, dict, dict]:
    """Latency rows and effects per model as the report shows it (model@target in a Ray run), and the
    aggregated results by model and target, from every process's result of every configuration."""
    latency, results = {}, {}
    unreliable = UnreliableCount()
    for (key, config), found in replicates.items():
        result = aggregate(config, found)
        label, model = config.label, key.shown
        results.setdefault(key, []).append(result)
        latency.setdefault(model, []).extend(latency_rows(result.to_dict()))
        if result.reason and result.status != Status.KNOWN_FAILURE:
            warnings.append(f"bench {model}/{label}: {result.status} — {result.reason}")
        for replicate in result.replicates:
            unreliable.cpus = max(unreliable.cpus, (replicate.threads or {}).get("cpus") or 0)
            for entry in replicate.batches.values():
                unreliable.add(entry["measurement"]["summary"], entry.get("remeasured", []))
    warnings += unreliable.lines(int(settings.threads or 0))
    # the bench's own effects of each model's results, as `aibench bench` computes them
    found = {key.shown: model_effects(model_results, settings.device) for key, model_results in results.items()}
    control_discoveries([effect for model_found in found.values() for effect in model_found])  # one family: the run
    effects = {model: [e.to_dict() for e in model_found] for model, model_found in found.items()}
    return latency, effects, results


class UnreliableCount:
    """Unreliable measurements grouped by kind, with counts: one warning line per kind, not one per process
    (a noisy run printed 213 lines); each configuration's row names its own flags."""

    def __init__(self) -> None:
        self.measurements = self.unreliable = self.remeasured = 0
        self.kinds: dict[str, int] = {}
        self.cpus = 0

    def add(self, summary: dict, remeasured: list[dict]) -> None:
        from aibench_onnx.report.tables import flag_kind

        self.measurements += 1
        self.remeasured += len(remeasured)
        if summary.get("reliable", True):
            return
        self.unreliable += 1
        for kind in dict.fromkeys(flag_kind(f) for f in summary["flags"]):
            if not kind.startswith(("p99 not reported", "timer overhead")):
                self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def lines(self, threads: int) -> list[str]:
        from aibench_onnx.measuring.contention import busy_machine_advice

        if not self.unreliable:
            return []
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.kinds.items(), key=lambda kv: -kv[1]))
        lines = [f"unreliable measurements: {self.unreliable} of {self.measurements} ({kinds}); each row's notes "
                 "name its own, `aibench report RUN_DIR --json` has every flag"]
        if self.remeasured:
            lines.append(f"{self.remeasured} slots measured again: their cycles were contaminated (each measurement "
                         "keeps its last attempt per cycle; `cycles` in each process's record, RUN_DIR/results.jsonl, "
                         "say which and why)")
        contaminated = self.kinds.get("contaminated", 0)  # scheduler stalls alone may be the runtime's own threads
        if contaminated and self.cpus and threads >= self.cpus:
            lines.append(busy_machine_advice(threads, self.cpus, f"{contaminated} measurements competed with other "
                                                                 "processes"))
        return lines
