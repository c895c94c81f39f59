"""Cross-framework agreement: the same zoo model in torch, TF and JAX on byte-identical inputs.

Each framework runs in its own process (native_worker); outputs come back as .npz files and go through
the one comparison engine (parity.py) against the reference framework (PyTorch when installed).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.artifacts.native import NativeBatch, NativeRequest
from aibench_onnx.frameworks import missing_framework
from aibench_onnx.parity.engine import (
    OutputComparison,
    WorstOverOutputs,
    compare_outputs,
    merge,
)
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import (
    EXPORT_BATCH,  # >= 2: a batch dimension cannot hide as a constant 1
)
from aibench_onnx.zoo.spec import ModelSpec

WORKER_TIMEOUT_S = 900.0


@dataclass
class FrameworkRun:
    framework: str
    status: str  # ok | failed | unavailable
    reason: str = ""
    param_count: int | None = None
    expected_param_count: int | None = None
    build_s: float | None = None


@dataclass
class PairResult(WorstOverOutputs):
    model: str
    size: str
    reference: str
    framework: str
    status: str  # passed | failed | unavailable | error
    reason: str = ""
    outputs: list[OutputComparison] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**asdict(self), **self.headline()}


@dataclass
class ModelAgreement:
    model: str
    size: str
    seeds: int
    runs: dict[str, FrameworkRun]
    pairs: list[PairResult]

    def to_dict(self) -> dict:
        return {"model": self.model, "size": self.size, "seeds": self.seeds,
                "runs": {k: asdict(v) for k, v in self.runs.items()}, "pairs": [p.to_dict() for p in self.pairs]}


def _run_framework(specs: list[ModelSpec], sizes: dict[str, str], framework: str, input_files: dict[str, list[str]],
                   workdir: Path, threads: int) -> dict[str, tuple[FrameworkRun, list[dict[str, np.ndarray]]]]:
    """Every model in one process of `framework` (imported once): model -> (its run, its outputs per set)."""
    from aibench_onnx.launch import run_worker_with_progress

    problem = missing_framework(framework)
    if problem:
        return {spec.name: (FrameworkRun(framework, Status.UNAVAILABLE, problem,
                                         expected_param_count=spec.expected_native_param_count(sizes[spec.name],
                                                                                               framework)), [])
                for spec in specs}
    requests = [NativeRequest(spec.name, sizes[spec.name], framework, threads, input_files[spec.name],
                              str(workdir / spec.name)) for spec in specs]
    outcome, documents = run_worker_with_progress("native", NativeBatch(requests), WORKER_TIMEOUT_S * len(specs))
    if outcome.ok:
        documents = outcome.document["documents"]
    found = {}
    for index, spec in enumerate(specs):
        size = sizes[spec.name]
        expected = spec.expected_native_param_count(size, framework)
        document = documents[index] if index < len(documents) else None
        if document is None or document.get("status", Status.OK) != Status.OK:
            reason = (document or {}).get("reason") or outcome.reason
            reason = f"worker crashed: {reason}" if document is None and outcome.died else reason
            found[spec.name] = (FrameworkRun(framework, Status.FAILED, reason, expected_param_count=expected), [])
            continue
        outputs = []
        for path in document["output_files"]:
            with np.load(path) as saved:
                outputs.append({name: saved[name] for name in saved.files})
        run = FrameworkRun(framework, "ok", param_count=document["param_count"], expected_param_count=expected,
                           build_s=document["build_s"])
        if run.param_count != expected:
            run.reason = f"native parameter count {run.param_count} != expected {expected}"
        run.reason = run.reason or _check_output_specs(spec, size, outputs)
        found[spec.name] = (run, outputs)
    return found


def _check_output_specs(spec: ModelSpec, size: str, outputs: list[dict[str, np.ndarray]]) -> str:
    """'' when every output has the spec's shape and dtype; otherwise what differs."""
    expected_shapes = spec.output_shapes(size, EXPORT_BATCH)
    dtypes = {t.name: t.dtype for t in spec.outputs}
    for produced in outputs:
        for name, array in produced.items():
            if array.shape != expected_shapes[name] or str(array.dtype) != dtypes[name]:
                return (f"output {name} is {array.dtype}{list(array.shape)}, spec says "
                        f"{dtypes[name]}{list(expected_shapes[name])}")
    return ""


def agree_across_frameworks(
    spec: ModelSpec, size: str, seeds: int, frameworks: list[str], threads: int,
    on_framework_done: Callable[[str], None] | None = None,
) -> ModelAgreement:
    """Run `spec` in every framework on `seeds` input sets and compare each against the reference."""
    return agree_across_frameworks_many([spec], size, seeds, frameworks, threads, on_framework_done)[0]


def agree_across_frameworks_many(specs: list[ModelSpec], size: str | None, seeds: int, frameworks: list[str],
                                 threads: int, on_framework_done: Callable[[str], None] | None = None,
                                 ) -> list[ModelAgreement]:
    """Every model in every framework (each framework's models in one process of it) on `seeds` input sets,
    each compared against the reference framework; `size` None: each model's default."""
    with tempfile.TemporaryDirectory(prefix="aibench-agreement-") as tmp:
        workdir = Path(tmp)
        input_files: dict[str, list[str]] = {}
        sizes = {spec.name: size or spec.default_size for spec in specs}
        for spec in specs:
            (workdir / spec.name).mkdir()
            input_files[spec.name] = []
            for seed in range(seeds):
                path = workdir / spec.name / f"inputs_{seed}.npz"
                np.savez(path, **spec.make_inputs(sizes[spec.name], EXPORT_BATCH, seed=seed))
                input_files[spec.name].append(str(path))
        found: dict[str, dict] = {}
        for framework in frameworks:
            found[framework] = _run_framework(specs, sizes, framework, input_files, workdir, threads)
            if on_framework_done:
                on_framework_done(framework)
    return [_agreement(spec, sizes[spec.name], seeds, frameworks,
                       {fw: found[fw][spec.name][0] for fw in frameworks},
                       {fw: found[fw][spec.name][1] for fw in frameworks}) for spec in specs]


def _agreement(spec: ModelSpec, size: str, seeds: int, frameworks: list[str], runs: dict[str, FrameworkRun],
               outputs: dict[str, list]) -> ModelAgreement:
    available = [fw for fw in frameworks if runs[fw].status == Status.OK]
    reference = "torch" if "torch" in available else (available[0] if available else frameworks[0])
    pairs = []
    for framework in frameworks:
        if framework == reference:
            continue
        pair = PairResult(spec.name, size, reference, framework, Status.PASSED)
        broken = [fw for fw in (reference, framework) if runs[fw].status != Status.OK]
        if broken:
            first_broken = runs[broken[0]]
            pair.status = Status.UNAVAILABLE if first_broken.status == Status.UNAVAILABLE else Status.ERROR
            pair.reason = f"{first_broken.framework}: {first_broken.reason}"
        else:
            tolerance_for = spec.tolerance
            pair.outputs = merge([compare_outputs(ref, act, tolerance_for)
                                  for ref, act in zip(outputs[reference], outputs[framework])])
            failing = [o for o in pair.outputs if not o.passed]
            miscounted = [runs[fw] for fw in (reference, framework) if runs[fw].reason]  # count or output spec
            if failing:
                pair.status, pair.reason = Status.FAILED, f"{failing[0].name}: {failing[0].reason}"
            elif miscounted:  # same outputs from a different architecture is luck, not agreement
                pair.status, pair.reason = Status.FAILED, f"{miscounted[0].framework}: {miscounted[0].reason}"
        pairs.append(pair)
    return ModelAgreement(spec.name, size, seeds, runs, pairs)
