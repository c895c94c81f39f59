"""Turn a run directory into report data: parity matrix, latency tables with effects, export statistics,
warnings. Renderers (report/run_views.py, report/html_report.py) only format this data."""

from __future__ import annotations

from pathlib import Path

from aibench_onnx.report.tables import latency_rows
from aibench_onnx.runs.store import (
    latest_records,
    load_records,
    load_run,
    timed_batches,
)
from aibench_onnx.status import FAILING, NOT_AVAILABLE, Status
from aibench_onnx.timing.effects import compute_effects


def build_report(run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    records, problems = load_records(run_dir)
    latest = latest_records(records)
    warnings = list(problems)
    parity_rows, exports, latency, samples = [], {}, {}, {}
    for job_id in run.get("jobs", []):
        record = latest.get(job_id)
        if record is None:
            warnings.append(f"{job_id}: not run yet (resume with aibench run --resume {run_dir})")
            continue
        if record["status"] in (Status.CRASHED, Status.TIMEOUT):
            warnings.append(f"{job_id}: {record['status']} — {record.get('reason', '')}")
            continue
        if record["kind"] == "parity":
            _parity(record, parity_rows, exports, warnings)
        else:
            _bench(record, latency, samples, warnings)
    effects = {}
    settings = run["settings"]
    for model, by_label in samples.items():
        found = compute_effects(by_label, settings["frameworks"], settings["eps"], settings["opt_levels"])
        effects[model] = [e.to_dict() for e in found]
    return {"run_dir": str(run_dir), "created": run.get("created"), "settings": settings,
            "environment": run.get("environment", {}), "jobs_planned": len(run.get("jobs", [])),
            "jobs_done": sum(1 for j in run.get("jobs", []) if j in latest), "parity": parity_rows,
            "exports": exports, "latency": latency, "effects": effects, "warnings": warnings}


def _parity(record: dict, rows: list, exports: dict, warnings: list) -> None:
    result = record.get("result")
    if not result:
        warnings.append(f"{record['job_id']}: {record['status']} — {record.get('reason', '')}")
        return
    export = result.get("export") or {}
    if export.get("graph"):
        graph = export["graph"]
        exports.setdefault(result["framework"], []).append(
            {"model": result["model"], "exporter": f"{export['exporter']} {export['exporter_version']}",
             "nodes": graph["node_count"], "op_types": len(graph["op_histogram"]), "file_bytes": graph["file_bytes"],
             "export_s": export.get("export_s"), "suspicious": graph["suspicious"]})
    for cell in result["cells"]:
        rows.append({k: cell.get(k) for k in ("model", "framework", "exporter", "ep", "opt_level", "status", "max_abs",
                                              "max_rel", "min_passing_atol", "reason", "blame", "tf32",
                                              "input_casts", "audit")})
        if cell["status"] in FAILING:
            warnings.append(f"parity {cell['model']}/{cell['framework']}/{cell['ep']}/{cell['opt_level']}: "
                            f"{cell['status']} — {cell['reason']}")
        elif cell["status"] in NOT_AVAILABLE:
            warnings.append(f"{cell['model']}/{cell['framework']} on {cell['ep']}: unavailable — {cell['reason']}")


def _bench(record: dict, latency: dict, samples: dict, warnings: list) -> None:
    result = record.get("result")
    if not result:
        warnings.append(f"{record['job_id']}: {record['status']} — {record.get('reason', '')}")
        return
    label = result["config"]["label"]
    latency.setdefault(record["model"], []).extend(latency_rows(result))
    if result["status"] != Status.OK:
        if result["status"] != Status.KNOWN_FAILURE:
            warnings.append(f"bench {record['model']}/{label}: {result['status']} — {result['reason']}")
        return
    for timed in timed_batches([record]):
        samples.setdefault(timed.model, {}).setdefault(timed.label, {})[timed.batch] = timed.samples_s
        if not timed.summary["reliable"]:
            warnings.append(f"unreliable measurement {timed.model}/{timed.label} batch {timed.batch}: "
                            f"{'; '.join(timed.summary['flags'])}")
