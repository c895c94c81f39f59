"""`aibench bench`: plan the runtime configurations of each model, time each in a fresh process, and
decompose the differences into exporter, optimizer and runtime effects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.frameworks import NATIVE_RUNTIMES, ORT_RUNTIME, missing_framework
from aibench_onnx.status import Status
from aibench_onnx.timing.effects import Effect, compute_effects, ort_label
from aibench_onnx.workers import run_worker
from aibench_onnx.zoo.inputs import EXPORT_BATCH
from aibench_onnx.zoo.spec import ModelSpec


@dataclass
class RuntimeConfig:
    label: str
    kind: str
    framework: str  # the native framework, or the framework whose exported graph ORT runs
    ep: str | None = None
    opt_level: str | None = None
    io_binding: bool = True
    cuda_graph: bool = False  # ORT CUDA EP only: replay one captured CUDA graph per call


@dataclass
class ConfigResult:
    config: RuntimeConfig
    status: str  # ok | failed | known_failure | ep_unavailable | unavailable | timeout | crashed
    reason: str = ""
    batches: dict = field(default_factory=dict)  # batch -> {"measurement", "info", "cold", "energy"}
    peak_rss_bytes: int | None = None
    peak_device_memory: dict | None = None
    threads: dict | None = None

    def samples(self) -> dict[int, list[float]]:
        return {int(b): r["measurement"]["samples_s"] for b, r in self.batches.items()}

    def to_dict(self) -> dict:
        return {**asdict(self)}


@dataclass
class ModelBench:
    model: str
    size: str
    results: list[ConfigResult]
    effects: list[Effect]
    exports: dict

    def to_dict(self) -> dict:
        return {"model": self.model, "size": self.size, "exports": self.exports,
                "results": [r.to_dict() for r in self.results], "effects": [e.to_dict() for e in self.effects]}


def plan(frameworks: list[str], runtimes: list[str], eps: list[str], levels: list[str],
         io_binding_modes: list[bool], cuda_graph_modes: tuple[bool, ...] = (False,)) -> list[RuntimeConfig]:
    """Every configuration to time. CUDA graphs need fixed device buffers, so they exist only for the CUDA
    provider with IO binding."""
    configs = []
    for kind in runtimes:
        if kind in NATIVE_RUNTIMES and NATIVE_RUNTIMES[kind] in frameworks:
            configs.append(RuntimeConfig(kind, kind, NATIVE_RUNTIMES[kind]))
    if ORT_RUNTIME in runtimes:
        for framework in frameworks:
            for ep in eps:
                for level in levels:
                    for binding in io_binding_modes:
                        for graph in cuda_graph_modes:
                            if graph and (ep != "cuda" or not binding):
                                continue
                            configs.append(RuntimeConfig(ort_label(framework, ep, level, binding, graph), ORT_RUNTIME,
                                                         framework, ep, level, binding, graph))
    return configs


def bench_model(spec: ModelSpec, size: str, configs: list[RuntimeConfig], batches: list[int], threads: int,
                timing: dict, out_dir: Path, device: str, timeout_s: float, opset: int,
                on_done: Callable[[ConfigResult], None] | None = None, exports: dict | None = None,
                tf32: bool = False) -> ModelBench:
    """Time every configuration of one model. `exports` (framework -> export record) reuses graphs exported
    earlier (by `aibench run`'s parity jobs); otherwise each needed graph is exported here first."""
    workdir = out_dir / spec.name
    (workdir / "inputs").mkdir(parents=True, exist_ok=True)
    input_files = {}
    for batch in batches:  # byte-identical inputs for every runtime: written once, read by each process
        path = workdir / "inputs" / f"batch{batch}.npz"
        np.savez(path, **spec.make_inputs(size, batch, seed=0))
        input_files[batch] = str(path)

    # Export from its own example at batch 2, never the first benchmark batch: traced at batch 1, an exporter
    # may freeze the batch dimension (pytorch #157621) and every other batch would then fail.
    example_file = workdir / "inputs" / f"export_batch{EXPORT_BATCH}.npz"
    np.savez(example_file, **spec.make_inputs(size, EXPORT_BATCH, seed=0))
    if exports is None:
        exports = _export_graphs(spec, size, sorted({c.framework for c in configs if c.kind == ORT_RUNTIME}), workdir,
                                 threads, opset, str(example_file))
    results = []
    for config in configs:
        result = _run_config(spec, size, config, input_files, threads, timing, workdir, device, timeout_s, exports,
                             tf32)
        results.append(result)
        if on_done:
            on_done(result)
    samples = {r.config.label: r.samples() for r in results if r.status == Status.OK}
    frameworks = list(dict.fromkeys(c.framework for c in configs if c.kind == ORT_RUNTIME))
    eps = list(dict.fromkeys(c.ep for c in configs if c.kind == ORT_RUNTIME))
    levels = list(dict.fromkeys(c.opt_level for c in configs if c.kind == ORT_RUNTIME))
    effects = compute_effects(samples, frameworks, eps, levels, device) if frameworks else []
    return ModelBench(spec.name, size, results, effects, exports)


def _export_graphs(spec, size, frameworks, workdir: Path, threads, opset, example_file) -> dict:
    """framework -> export record (status, path), exporting in the framework's own process."""
    from aibench_onnx.parity.zoo import run_native_worker

    exports = {}
    for framework in frameworks:
        problem = missing_framework(framework)
        if problem:
            exports[framework] = {"status": Status.UNAVAILABLE, "reason": f"{framework}: {problem}"}
            continue
        target = workdir / framework
        target.mkdir(parents=True, exist_ok=True)
        native = run_native_worker(spec, size, framework, [example_file], target, threads, opset)
        exports[framework] = native.get("export") or {"status": Status.FAILED, "reason": native.get("reason", "")}
    return exports


def _run_config(spec, size, config: RuntimeConfig, input_files, threads, timing, workdir: Path, device,
                timeout_s, exports, tf32: bool = False) -> ConfigResult:
    if config.kind == ORT_RUNTIME:
        record = exports.get(config.framework, {})
        if record.get("status") != Status.OK:
            known = spec.known_export_failures.get(config.framework)
            status = (Status.UNAVAILABLE if record.get("status") == Status.UNAVAILABLE
                      else Status.KNOWN_FAILURE if known else Status.FAILED)
            reason = f"no ONNX graph: {record.get('reason', 'export failed')}" + (f" — known: {known}" if known else "")
            return ConfigResult(config, status, reason)
    else:
        problem = missing_framework(config.framework)
        if problem:
            return ConfigResult(config, Status.UNAVAILABLE, f"{config.framework}: {problem}")
    request = {"model": spec.name, "size": size, "runtime": config.kind, "framework": config.framework,
               "ep": config.ep, "opt_level": config.opt_level, "io_binding": config.io_binding,
               "cuda_graph": config.cuda_graph, "tf32": tf32,
               "onnx_path": exports.get(config.framework, {}).get("path"), "cache_dir": str(workdir / "trt-cache"),
               "batches": {str(b): f for b, f in input_files.items()}, "threads": threads, "device": device,
               "timing": timing}
    outcome = run_worker("aibench_onnx.workers.bench", request, timeout_s,
                         workdir / f"bench_{config.label.replace(':', '_')}.json")
    if outcome.died:
        return ConfigResult(config, outcome.status, outcome.reason)
    document = outcome.document
    if not outcome.ok:
        return ConfigResult(config, document["status"], document["reason"])
    return ConfigResult(config, Status.OK, batches=document["batches"], peak_rss_bytes=document["peak_rss_bytes"],
                        peak_device_memory=document["peak_device_memory"], threads=document["threads"])
