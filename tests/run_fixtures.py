"""Synthetic run directories for report/compare tests: real file formats, planted numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aibench_onnx.runs.store import JobRecord, append_record, write_run_file


def bench_record(model: str, label: str, samples: dict[int, np.ndarray], round_index: int | None = None) -> dict:
    """One timing job's record; `round_index` None writes a record as runs before replicates did."""
    batches = {}
    for batch, values in samples.items():
        values = [float(v) for v in values]
        median = float(np.median(values))
        batches[str(batch)] = {
            "measurement": {"samples_s": values, "summary": {
                "median_s": median, "ci95_s": [median * 0.99, median * 1.01], "p90_s": None, "n": len(values),
                "reliable": True, "flags": []}},
            "info": {}, "cold": {"first_call_s": median}, "energy": {"available": False, "reason": "test"}}
    kind = "ort" if label.startswith("ort:") else label
    framework = label.split(":")[1].split("-")[0] if kind == "ort" else label.split("-")[0]
    result = {"config": {"label": label, "kind": kind, "framework": framework}, "status": "ok", "reason": "",
              "batches": batches, "peak_rss_bytes": 100 * 2**20}
    if round_index is None:
        return {"job_id": f"bench/{model}/{label}", "kind": "bench", "model": model, "framework": framework,
                "status": "ok", "duration_s": 1.0, "result": result}
    return {"job_id": f"bench/{model}/{label}/r{round_index}", "kind": "bench", "model": model,
            "framework": framework, "status": "ok", "duration_s": 1.0, "round": round_index,
            "result": {**result, "round": round_index}}


def parity_record(model: str, framework: str, status: str, max_abs: float | None) -> dict:
    cell = {"model": model, "size": "tiny", "framework": framework, "exporter": "x", "ep": "cpu", "opt_level": "all",
            "status": status, "reason": "" if status == "passed" else "planted", "blame": "", "max_abs": max_abs,
            "max_rel": max_abs, "min_passing_atol": 0.0, "outputs": [], "cases": {}, "providers": [], "input_casts": []}
    return {"job_id": f"parity/{model}/{framework}", "kind": "parity", "model": model, "framework": framework,
            "status": "ok" if status == "passed" else "failed", "duration_s": 1.0,
            "result": {"model": model, "size": "tiny", "framework": framework, "export": None, "cells": [cell]}}


def make_run(path: Path, records: list[dict], environment: dict | None = None, **settings_given) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    settings = {"frameworks": ["torch", "jax"], "eps": ["cpu"], "opt_levels": ["all"], "models": ["mlp"],
                **settings_given}
    write_run_file(path, {"settings": settings, "environment": environment or {}, "jobs": [r["job_id"] for r in records]})
    for record in records:
        append_record(path, JobRecord.from_dict(record))
    return path


def timings(median: float, n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(median, median * 0.01, n)


def write_json(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document))
