"""Build one zoo model in one framework and run it on saved inputs — and export it, when asked — inside
the fresh process its worker (workers.native) gives it. Frameworks never share a process: TF, JAX and
torch fight over thread pools, and an import may crash.

Request: model, size, framework, threads, the .npz input files, where to write outputs, and optionally
{"export": {"path", "opset", "example_input_file"}} and "reduced": precisions (fp16) to run the model in as
its framework would (the error inherent to the precision, beside what an ONNX conversion adds).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from aibench_onnx.status import Status


def _set_thread_env(threads: int) -> None:
    # Must happen before the framework is imported: OpenMP reads it once.
    os.environ["OMP_NUM_THREADS"] = str(threads)


def run_native(request: dict) -> dict:
    """Build the zoo model, run it on every input file, save the outputs; export it when asked."""
    _set_thread_env(request["threads"])
    import numpy as np

    from aibench_onnx.frameworks import adapter
    from aibench_onnx.zoo.registry import builder, get_spec

    spec = get_spec(request["model"])
    framework = request["framework"]
    fw = adapter(framework)
    fw.configure_threads(request["threads"])
    dims = spec.sizes[request["size"]]

    started = time.perf_counter()
    model = builder(spec.name, framework)(spec.make_params(request["size"]), dims)
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
        from aibench_onnx.frameworks.export import export_model

        job = request["export"]
        with np.load(job["example_input_file"]) as saved:
            example = [saved[t.name] for t in spec.inputs]
        record = export_model(model, spec, request["size"], framework, example, Path(job["path"]), job["opset"])
        Path(job["path"]).with_name("export.json").write_text(json.dumps(record, indent=2))
        result["export"] = record
    if request.get("reduced"):
        result["reduced"] = _run_reduced(request, fw, model, spec, inputs)
    return result


def _run_reduced(request: dict, fw, model, spec, inputs: list[list]) -> dict:
    """precision -> the framework's own outputs in that precision per input file (the model cast, built once;
    float inputs cast, integer inputs as they are; outputs back to float32), or why it cannot."""
    import numpy as np

    from aibench_onnx.zoo.precision import NATIVE_DTYPES, cast_floats
    from aibench_onnx.zoo.registry import builder

    def rebuild():  # Keras chooses variable and compute dtypes when layers are built
        return builder(spec.name, request["framework"])(spec.make_params(request["size"]), spec.sizes[request["size"]])

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

    from aibench_onnx.workers import apply_test_hook, record_progress

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
