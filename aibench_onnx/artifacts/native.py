"""A zoo model's reference artifacts: build it in one framework and run it on saved inputs (its native
outputs) — and export it, when asked — inside the fresh process its worker (`native`) gives it; and the
parent's side that asks for them (`native_request`, `run_native_worker`, `export_graphs`, `export_only`).
Frameworks never share a process: TF, JAX and torch fight over thread pools, and an import may crash.

The request is a NativeRequest (one model) or a NativeBatch (several models of one framework), written as
JSON by the parent and parsed once by the worker.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.frameworks import missing_framework
from aibench_onnx.launch import run_worker
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH, parity_cases
from aibench_onnx.zoo.precision import FP32, NATIVE_DTYPES
from aibench_onnx.zoo.spec import BATCH, ModelSpec

WORKER_TIMEOUT_S = 1200.0  # one model's build, native runs and export in its framework's process


@dataclass(frozen=True)
class ExportAsk:
    """Export the model once its native runs are done: traced at the example input set."""

    path: str
    opset: int
    example_input_file: str


@dataclass(frozen=True)
class NativeRequest:
    """One zoo model in its framework's process: run every input set (.npz), write the outputs to
    `output_dir`; export it when `export` asks; run it in each `reduced` precision (fp16) as its framework
    would — the error inherent to the precision, beside what an ONNX conversion adds."""

    model: str
    size: str
    framework: str  # or a graph name (torch-script): its framework builds, its exporter exports
    threads: int
    input_files: list[str]
    output_dir: str
    export: ExportAsk | None = None
    reduced: list[str] = field(default_factory=list)
    job_id: str = ""  # the run's job (tests' crash hooks)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NativeRequest:
        export = data.get("export")
        return cls(**{**data, "export": ExportAsk(**export) if export else None})


@dataclass(frozen=True)
class NativeBatch:
    """Several models of one framework in one process of it; each finished document is appended to
    `progress_path` (launch.run_worker_with_progress sets it)."""

    requests: list[NativeRequest]
    progress_path: str | None = None

    def to_dict(self) -> dict:
        return {"requests": [r.to_dict() for r in self.requests], "progress_path": self.progress_path}

    @classmethod
    def from_dict(cls, data: dict) -> NativeBatch:
        return cls([NativeRequest.from_dict(r) for r in data["requests"]], data.get("progress_path"))


def _set_thread_env(threads: int) -> None:
    # Must happen before the framework is imported: OpenMP reads it once.
    os.environ["OMP_NUM_THREADS"] = str(threads)


def run_native(request: NativeRequest) -> dict:
    """Build the zoo model, run it on every input file, save the outputs; export it when asked."""
    _set_thread_env(request.threads)
    import numpy as np

    from aibench_onnx.frameworks import adapter, framework_of
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec(request.model)
    framework = request.framework
    fw = adapter(framework)
    fw.configure_threads(request.threads)
    dims = spec.sizes[request.size]

    started = time.perf_counter()
    model = builder(spec.name, framework_of(framework))(spec.make_params(request.size), dims)
    build_s = time.perf_counter() - started

    output_names = [t.name for t in spec.outputs]
    inputs = []  # per input file, in the spec's order; read once, also for the fp16 runs
    for input_file in request.input_files:
        with np.load(input_file) as saved:
            inputs.append([saved[t.name] for t in spec.inputs])
    output_files = []
    for index, arrays in enumerate(inputs):
        outputs = fw.run(model, arrays)
        if len(outputs) != len(output_names):
            raise RuntimeError(f"model returned {len(outputs)} outputs, spec declares {len(output_names)}")
        target = Path(request.output_dir) / f"{framework}_outputs_{index}.npz"
        np.savez(target, **dict(zip(output_names, outputs)))
        output_files.append(str(target))
    result = {
        "status": Status.OK,
        "param_count": fw.param_count(model),
        "build_s": round(build_s, 3),
        "output_files": output_files,
    }
    if request.export:
        from aibench_onnx.artifacts.export import export_model

        ask = request.export
        with np.load(ask.example_input_file) as saved:
            example = [saved[t.name] for t in spec.inputs]
        record = export_model(model, spec, request.size, framework, example, Path(ask.path), ask.opset,
                              dynamic=spec.dynamic_axes() if spec.dynamic_dims != {BATCH: BATCH} else None)
        Path(ask.path).with_name("export.json").write_text(json.dumps(record, indent=2))
        result["export"] = record
    if request.reduced:
        result["reduced"] = _run_reduced(request, fw, model, spec, inputs)
    return result


def _run_reduced(request: NativeRequest, fw, model, spec, inputs: list[list]) -> dict:
    """precision -> the framework's own outputs in that precision per input file (the model cast, built once;
    float inputs cast, integer inputs as they are; outputs back to float32), or why it cannot."""
    import numpy as np

    from aibench_onnx.frameworks import framework_of
    from aibench_onnx.zoo.precision import NATIVE_DTYPES, cast_floats
    from aibench_onnx.zoo.registry import builder

    def rebuild():  # Keras chooses variable and compute dtypes when layers are built
        build = builder(spec.name, framework_of(request.framework))
        return build(spec.make_params(request.size), spec.sizes[request.size])

    found = {}
    for precision in request.reduced:
        files = []
        try:
            reduced = fw.reduced_model(model, NATIVE_DTYPES[precision], rebuild)
            for index, arrays in enumerate(inputs):
                outputs = fw.run(reduced, [cast_floats(a, precision) for a in arrays])
                target = Path(request.output_dir) / f"{request.framework}_{precision}_outputs_{index}.npz"
                np.savez(target, **{t.name: o.astype(np.float32) for t, o in zip(spec.outputs, outputs)})
                files.append(str(target))
            found[precision] = {"status": Status.OK, "output_files": files}
        except Exception as exc:  # noqa: BLE001 - a framework without this precision on this device: a result
            found[precision] = {"status": Status.UNAVAILABLE,
                                "reason": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    return found


def run_native_many(batch: NativeBatch) -> dict:
    """Several models of one framework in this one process (`aibench run`): the framework and its exporter
    are imported and initialised once (jax2onnx's first export alone takes seconds). Each model's failure is
    its own document; each finished document is appended to `progress_path`, so a native crash loses only the
    model that was running."""
    import traceback

    from aibench_onnx.launch import apply_test_hook, record_progress

    documents = []
    for single in batch.requests:
        apply_test_hook(single.job_id)
        try:
            document = run_native(single)
        except Exception as exc:  # noqa: BLE001 - one model's failure is its result
            document = {"status": Status.FAILED, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                        "traceback": traceback.format_exc(limit=6)}
        documents.append(document)
        record_progress(batch.progress_path, document)
    return {"status": Status.OK, "documents": documents}


def run_native_request(document: dict) -> dict:
    """The worker's entry: one model's request (NativeRequest), or several (NativeBatch)."""
    if "requests" in document:
        return run_native_many(NativeBatch.from_dict(document))
    return run_native(NativeRequest.from_dict(document))


def native_request(spec, size, framework, input_files, workdir: Path, threads: int, opset: int,
                   precisions: tuple[str, ...] = (FP32,)) -> NativeRequest:
    """What the framework's process does for one model: run every input set, then export (traced at the
    first input set, batch 2), then run it in fp16 as the framework would when an fp16 variant is judged."""
    return NativeRequest(spec.name, size, framework, threads, list(input_files), str(workdir),
                         ExportAsk(str(workdir / "model.onnx"), opset, input_files[0]),
                         [p for p in precisions if p in NATIVE_DTYPES])


def run_native_worker(request: NativeRequest, workdir: Path) -> dict:
    outcome = run_worker("native", request, WORKER_TIMEOUT_S, workdir / "native_request.json")
    if outcome.died:
        return {"status": Status.FAILED, "reason": f"native worker crashed: {outcome.reason}"}
    return outcome.document


def export_only(spec: ModelSpec, size: str, framework: str, threads: int, out_dir: Path, opset: int) -> dict:
    """`aibench export`: build and export in the framework's own process; return the export record."""
    (out_dir / "inputs").mkdir(parents=True, exist_ok=True)
    example = parity_cases(spec, size, seeds=1, edge_cases=False)[0]
    input_file = out_dir / "inputs" / f"{example.name}.npz"
    np.savez(input_file, **example.arrays)
    native = run_native_worker(native_request(spec, size, framework, [str(input_file)], out_dir, threads, opset),
                               out_dir)
    if native.get("status") != Status.OK:
        from aibench_onnx.errors import ExitCode, UserError

        raise UserError(f"{spec.name}/{framework}: {native.get('reason', 'native worker failed')}", ExitCode.ENVIRONMENT)
    return native["export"]


def export_graphs(spec: ModelSpec, size: str, frameworks: list[str], workdir: Path, threads: int, opset: int) -> dict:
    """framework -> export record (status, path), exporting in the framework's own process. Traced from its
    own example at batch 2, never the first benchmark batch: traced at batch 1, an exporter may freeze the
    batch dimension (pytorch #157621) and every other batch would then fail."""
    (workdir / "inputs").mkdir(parents=True, exist_ok=True)
    example_file = str(workdir / "inputs" / f"export_batch{EXPORT_BATCH}.npz")
    np.savez(example_file, **spec.make_inputs(size, EXPORT_BATCH, seed=0))

    exports = {}
    for framework in frameworks:
        problem = missing_framework(framework)
        if problem:
            exports[framework] = {"status": Status.UNAVAILABLE, "reason": f"{framework}: {problem}"}
            continue
        target = workdir / framework
        target.mkdir(parents=True, exist_ok=True)
        native = run_native_worker(native_request(spec, size, framework, [example_file], target, threads, opset), target)
        exports[framework] = native.get("export") or {"status": Status.FAILED, "reason": native.get("reason", "")}
    return exports
