"""A zoo model's reference artifacts: build it in one framework and run it on saved inputs (its native
outputs) — and export it, when asked — inside the fresh process its worker (`native`) gives it; and the
parent's side that asks for them (`native_request`, `run_native_worker`, `export_graphs`, `export_only`).
Frameworks never share a process: TF, JAX and torch fight over thread pools, and an import may crash.

Request: model, size, framework, threads, the .npz input files, where to write outputs, and optionally
{"export": {"path", "opset", "example_input_file"}} and "reduced": precisions (fp16) to run the model in as
its framework would (the error inherent to the precision, beside what an ONNX conversion adds).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from aibench_onnx.frameworks import missing_framework
from aibench_onnx.launch import run_worker
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH, parity_cases
from aibench_onnx.zoo.precision import FP32, NATIVE_DTYPES
from aibench_onnx.zoo.spec import BATCH, ModelSpec

WORKER_TIMEOUT_S = 1200.0  # one model's build, native runs and export in its framework's process


def _set_thread_env(threads: int) -> None:
    # Must happen before the framework is imported: OpenMP reads it once.
    os.environ["OMP_NUM_THREADS"] = str(threads)


def run_native(request: dict) -> dict:
    """Build the zoo model, run it on every input file, save the outputs; export it when asked."""
    _set_thread_env(request["threads"])
    import numpy as np

    from aibench_onnx.frameworks import adapter, framework_of
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec(request["model"])
    framework = request["framework"]  # or a graph name (torch-script): its framework builds, its exporter exports
    fw = adapter(framework)
    fw.configure_threads(request["threads"])
    dims = spec.sizes[request["size"]]

    started = time.perf_counter()
    model = builder(spec.name, framework_of(framework))(spec.make_params(request["size"]), dims)
    build_s = time.perf_counter() - started

    output_names = [t.name for t in spec.outputs]
    inputs = []  # per input file, in the spec's order; read once, also for the fp16 runs
    for input_file in request["input_files"]:
        with np.load(input_file) as saved:
            inputs.append([saved[t.name] for t in spec.inputs])
    output_files = []
    for index, arrays in enumerate(inputs):
        outputs = fw.run(model, arrays)
        if len(outputs) != len(output_names):
            raise RuntimeError(f"model returned {len(outputs)} outputs, spec declares {len(output_names)}")
        target = Path(request["output_dir"]) / f"{framework}_outputs_{index}.npz"
        np.savez(target, **dict(zip(output_names, outputs)))
        output_files.append(str(target))
    result = {
        "status": Status.OK,
        "param_count": fw.param_count(model),
        "build_s": round(build_s, 3),
        "output_files": output_files,
    }
    if request.get("export"):
        from aibench_onnx.artifacts.export import export_model

        job = request["export"]
        with np.load(job["example_input_file"]) as saved:
            example = [saved[t.name] for t in spec.inputs]
        record = export_model(model, spec, request["size"], framework, example, Path(job["path"]), job["opset"],
                              dynamic=spec.dynamic_axes() if spec.dynamic_dims != {BATCH: BATCH} else None)
        Path(job["path"]).with_name("export.json").write_text(json.dumps(record, indent=2))
        result["export"] = record
    if request.get("reduced"):
        result["reduced"] = _run_reduced(request, fw, model, spec, inputs)
    return result


def _run_reduced(request: dict, fw, model, spec, inputs: list[list]) -> dict:
    """precision -> the framework's own outputs in that precision per input file (the model cast, built once;
    float inputs cast, integer inputs as they are; outputs back to float32), or why it cannot."""
    import numpy as np

    from aibench_onnx.frameworks import framework_of
    from aibench_onnx.zoo.precision import NATIVE_DTYPES, cast_floats
    from aibench_onnx.zoo.registry import builder

    def rebuild():  # Keras chooses variable and compute dtypes when layers are built
        build = builder(spec.name, framework_of(request["framework"]))
        return build(spec.make_params(request["size"]), spec.sizes[request["size"]])

    found = {}
    for precision in request["reduced"]:
        files = []
        try:
            reduced = fw.reduced_model(model, NATIVE_DTYPES[precision], rebuild)
            for index, arrays in enumerate(inputs):
                outputs = fw.run(reduced, [cast_floats(a, precision) for a in arrays])
                target = Path(request["output_dir"]) / f"{request['framework']}_{precision}_outputs_{index}.npz"
                np.savez(target, **{t.name: o.astype(np.float32) for t, o in zip(spec.outputs, outputs)})
                files.append(str(target))
            found[precision] = {"status": Status.OK, "output_files": files}
        except Exception as exc:  # noqa: BLE001 - a framework without this precision on this device: a result
            found[precision] = {"status": Status.UNAVAILABLE,
                                "reason": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    return found


def run_native_many(request: dict) -> dict:
    """Several models of one framework in this one process (`aibench run`): the framework and its exporter
    are imported and initialised once (jax2onnx's first export alone takes seconds). Each model's failure is
    its own document; each finished document is appended to `progress_path`, so a native crash loses only the
    model that was running."""
    import traceback

    from aibench_onnx.launch import apply_test_hook, record_progress

    documents = []
    for single in request["requests"]:
        apply_test_hook(single.get("job_id", ""))
        try:
            document = run_native(single)
        except Exception as exc:  # noqa: BLE001 - one model's failure is its result
            document = {"status": Status.FAILED, "reason": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                        "traceback": traceback.format_exc(limit=6)}
        documents.append(document)
        record_progress(request, document)
    return {"status": Status.OK, "documents": documents}


def run_native_request(request: dict) -> dict:
    """The worker's entry: one model's request, or {"requests": [...]} for several."""
    return run_native_many(request) if "requests" in request else run_native(request)


def native_request(spec, size, framework, input_files, workdir: Path, threads: int, opset: int,
                   precisions: tuple[str, ...] = (FP32,)) -> dict:
    """What the framework's process does for one model: run every input set, then export (traced at the
    first input set, batch 2), then run it in fp16 as the framework would when an fp16 variant is judged."""
    return {"model": spec.name, "size": size, "framework": framework, "threads": threads,
            "input_files": input_files, "output_dir": str(workdir),
            "export": {"path": str(workdir / "model.onnx"), "opset": opset, "example_input_file": input_files[0]},
            "reduced": [p for p in precisions if p in NATIVE_DTYPES]}


def run_native_worker(request: dict, workdir: Path) -> dict:
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
