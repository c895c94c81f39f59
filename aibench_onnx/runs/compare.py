"""`aibench compare BASE NEW`: the same configurations in two runs (run directories, or `bench --json`
files) — faster, slower or no significant change counting processes, parity that regressed, environments
that differ — and a regression gate such as `median:5%`."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aibench_onnx.errors import UserError
from aibench_onnx.keys import RuntimeConfig
from aibench_onnx.runs.report import on_target
from aibench_onnx.runs.store import (
    JobRecord,
    bench_runs,
    latest_records,
    load_bench_document,
    load_records,
    load_run,
    parity_cells,
    timed_batches,
)
from aibench_onnx.status import Status
from aibench_onnx.timing.multiplicity import BENJAMINI_HOCHBERG, HOLM, benjamini_hochberg, holm, p_above
from aibench_onnx.timing.processes import across_processes, compare_replicates

GATE = re.compile(r"^(median):(\d+(?:\.\d+)?)%$")


def parse_gate(text: str | None) -> float | None:
    """'median:5%' -> 0.05 (fail when a configuration's median is significantly more than 5 % slower)."""
    if text is None:
        return None
    match = GATE.match(text.strip())
    if not match:
        raise UserError(f"--fail-on {text!r}: expected median:N% (for example median:5%)")
    return float(match.group(2)) / 100


@dataclass
class Side:
    """What compare reads from one side: a run directory, or the JSON of `aibench bench --json`."""

    environment: dict
    samples: dict[tuple, dict[int, list[float]]]  # (model, configuration, batch) -> round -> samples
    parity: dict[tuple, str]  # (model, framework, ep, level, precision) -> status
    fingerprints: list[dict] = field(default_factory=list)  # the hardware the records were measured on


# Rounds of the second, third ... run of a side are numbered from here on, so no two processes share a key.
RUN_ROUND_STRIDE = 10_000


def load_side(path: str) -> Side:
    """A run directory, RUN_DIR@TARGET (one target of a Ray run), a bench JSON file — or several of them joined
    by commas, whose processes make one side (see `merge_sides`). A Ray run read whole names its models with
    their targets (mlp@l4), so each target meets itself in the other run."""
    if "," in path and not Path(path).exists():
        return merge_sides([_load_one(part) for part in path.split(",") if part])
    return _load_one(path)


def merge_sides(sides: list[Side]) -> Side:
    """Several runs as one side: every run's processes of a configuration (the CI between the two sides then
    counts how much runs differ, not only processes of one run: on a VM whose state differs from one run to
    the next, all processes of a run can share it); a parity cell passes only when it passed in every run."""
    samples: dict[tuple, dict[int, list[float]]] = {}
    parity: dict[tuple, str] = {}
    for index, side in enumerate(sides):
        for key, rounds in side.samples.items():
            samples.setdefault(key, {}).update({index * RUN_ROUND_STRIDE + r: found for r, found in rounds.items()})
        for key, status in side.parity.items():
            if parity.get(key, Status.PASSED) == Status.PASSED:
                parity[key] = status
    prints = {json.dumps(found, sort_keys=True) for side in sides for found in side.fingerprints}
    return Side(sides[0].environment, samples, parity, [json.loads(text) for text in sorted(prints)])


def _load_one(path: str) -> Side:
    if Path(path).is_file():
        return _bench_json(path)
    run_dir, target = _run_and_target(path)
    run = load_run(run_dir)
    latest = [record for record in latest_records(load_records(Path(run_dir))[0]).values()
              if target is None or record.target == target]
    if target is not None and not latest:
        raise UserError(f"{path}: the run has no records of target {target!r} "
                        f"(its targets: {', '.join(run.get('targets', {})) or 'none'})")
    name = (lambda model, record: model) if target else on_target
    samples: dict[tuple, dict[int, list[float]]] = {}
    parity: dict[tuple, str] = {}
    for record in latest:
        for timed in timed_batches([record]):
            samples.setdefault((name(timed.model, record), timed.label, timed.batch), {})[timed.round] = timed.samples_s
        for cell in parity_cells([record]):
            parity[(name(cell["model"], record), cell["framework"], cell["ep"], cell["opt_level"],
                    cell.get("precision") or "fp32")] = cell["status"]
    environment = run.get("targets", {}).get(target, {}).get("environment", {}) if target else run.get("environment", {})
    return Side(environment, samples, parity, fingerprints(latest, environment))


def _run_and_target(path: str) -> tuple[str, str | None]:
    run_dir, at, target = path.rpartition("@")
    if not Path(path).is_dir() and at and Path(run_dir).is_dir():
        return run_dir, target
    return path, None


def fingerprints(records: list[JobRecord], environment: dict) -> list[dict]:
    """The distinct hardware fingerprints of the records (a Ray run's records carry their node's); a local
    run's, from its environment."""
    found = {json.dumps(r.node["fingerprint"], sort_keys=True) for r in records if (r.node or {}).get("fingerprint")}
    if found:
        return [json.loads(text) for text in sorted(found)]
    system, gpu = environment.get("system"), environment.get("gpu", {})
    if not system:
        return []
    return [{"cpu_model": system.get("cpu_model"), "logical_cores": system.get("logical_cores"),
             "gpus": [g["name"] for g in gpu.get("gpus", [])], "gpu_driver": gpu.get("driver_version")}]


def hardware_differences(base: list[dict], new: list[dict]) -> list[str]:
    """What differs between the two sides' hardware (keys both sides know), and sides that mix machines."""
    found = [f"{side} mixes {len(prints)} different machines" for side, prints in (("base", base), ("new", new))
             if len(prints) > 1]
    if base and new:
        a, b = base[0], new[0]
        found += [f"{key}: {a[key]} -> {b[key]}" for key in sorted(set(a) & set(b)) if a[key] != b[key]]
    return found


def _bench_json(path: str) -> Side:
    """A bench document's side: its run's (a bench is a run), or — written before, or its run gone — its numbers."""
    document = load_bench_document(path)
    runs = bench_runs(document)
    if len(runs) > 1:
        raise UserError(f"{path}: a bench over several thread counts; compare one of its runs: "
                        + ", ".join(str(run_dir) for run_dir in runs))
    if runs:
        return _load_one(str(runs[0]))
    samples: dict[tuple, dict[int, list[float]]] = {}
    for model in document.get("results", []):
        for result in model["results"]:
            for replicate in result.get("replicates") or [{"round": 0, "status": result["status"],
                                                            "batches": result.get("batches", {})}]:
                if replicate["status"] != Status.OK:
                    continue
                for batch, entry in replicate["batches"].items():
                    key = (model["model"], RuntimeConfig.from_dict(result["config"]).label, int(batch))
                    samples.setdefault(key, {})[replicate.get("round", 0)] = entry["measurement"]["samples_s"]
    return Side(document.get("environment", {}), samples, {})


def _environment_differences(base: dict, new: dict) -> list[str]:
    differences = []
    for key in ("cpu_model", "physical_cores", "os", "python"):
        a, b = base.get("system", {}).get(key), new.get("system", {}).get(key)
        if a != b:
            differences.append(f"{key}: {a} -> {b}")
    packages_a, packages_b = base.get("packages", {}), new.get("packages", {})
    for name in sorted(set(packages_a) | set(packages_b)):
        a = (packages_a.get(name) or {}).get("version")
        b = (packages_b.get(name) or {}).get("version")
        if a != b:
            differences.append(f"{name}: {a} -> {b}")
    ort_a = base.get("onnxruntime", {}).get("probe", {}).get("version")
    ort_b = new.get("onnxruntime", {}).get("probe", {}).get("version")
    if ort_a != ort_b:
        differences.append(f"onnxruntime: {ort_a} -> {ort_b}")
    return differences


def gate_decision(estimates: list, gate: float) -> tuple[list[float], list[bool]]:
    """Per configuration compared (timing.processes.Comparison): the one-sided p of "at most +gate" and whether
    it fails the gate under Holm over all of them."""
    p_values = [p_above(e.ratio, *e.standard_error(), gate) for e in estimates]
    return p_values, holm(p_values)


@dataclass
class RunComparison:
    """Two runs (or sides of pooled runs) compared: a row per configuration in both, what regressed, what
    differs around them, and the gate's failures (exit 1 when there are any)."""

    base: str
    new: str
    rows: list[dict]  # model, config, batch, medians, ratio with its CI, detectable change, verdict
    parity_regressions: list[str]
    environment_differences: list[str]
    hardware_differences: list[str]
    only_in_base: int
    only_in_new: int
    gate: float | None  # the --fail-on threshold, e.g. 0.05
    gate_failures: list[str]
    gate_method: str = HOLM
    verdict_method: str = BENJAMINI_HOCHBERG

    def to_dict(self) -> dict:
        return asdict(self)


def compare_runs(base_dir: str, new_dir: str, gate: float | None) -> RunComparison:
    base_side, new_side = load_side(base_dir), load_side(new_dir)
    base, new = base_side.samples, new_side.samples
    parity_base, parity_new = base_side.parity, new_side.parity
    common = sorted(set(base) & set(new))
    common_parity = sorted(set(parity_base) & set(parity_new))
    if not common and not common_parity:
        raise UserError(f"{base_dir} and {new_dir} have no configuration in common")
    rows, failures = [], []
    # two runs: processes are independent across them (Welch), never paired by round
    estimates = [compare_replicates(base[key], new[key], paired=False) for key in common]
    # the verdict column is a discovery list (Benjamini-Hochberg); the gate one decision (Holm): timing/multiplicity
    discovered = benjamini_hochberg([e.p_value for e in estimates])
    gate_p, gate_failed = gate_decision(estimates, gate) if gate is not None else ([], [False] * len(estimates))
    for index, (key, estimate) in enumerate(zip(common, estimates)):
        if not (estimate.significant and discovered[index]):
            verdict = "no significant change"
        else:
            verdict = "slower" if estimate.ratio > 1 else "faster"
        row = {"model": key[0], "config": key[1], "batch": key[2],
               "base_median_s": across_processes(base[key]).median_s, "new_median_s": across_processes(new[key]).median_s,
               "ratio": estimate.ratio, "ci_low": estimate.ci_low, "ci_high": estimate.ci_high,
               "p_value": estimate.p_value, "mde": estimate.mde, "processes": estimate.processes,
               "method": estimate.method, "verdict": verdict,
               **({"gate_p_value": gate_p[index]} if gate is not None else {})}
        rows.append(row)
        # the gate fails on a slowdown beyond the threshold that survives Holm over every configuration compared
        if gate_failed[index]:
            failures.append(f"{key[0]}/{key[1]} batch {key[2]}: median {estimate.ratio:.3f}x "
                            f"(CI {estimate.ci_low:.3f}-{estimate.ci_high:.3f}) exceeds +{100 * gate:g}% "
                            f"(p {gate_p[index]:.2g}, Holm over {len(estimates)} configurations)")
    parity_regressions = [f"{'/'.join(key if key[-1] != 'fp32' else key[:-1])}: {parity_base[key]} -> {parity_new[key]}"
                          for key in common_parity
                          if parity_base[key] == Status.PASSED and parity_new[key] != Status.PASSED]
    failures += [f"parity regressed: {line}" for line in parity_regressions]
    return RunComparison(str(base_dir), str(new_dir), rows, parity_regressions,
                         _environment_differences(base_side.environment, new_side.environment),
                         hardware_differences(base_side.fingerprints, new_side.fingerprints),
                         len(set(base) - set(new)), len(set(new) - set(base)), gate, failures)
