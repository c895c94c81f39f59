"""Build one zoo model in one framework and run it on saved inputs, in a process of its own.

`python -m aibench_onnx.workers.native REQUEST.json OUT.json`. The request names the model, size,
framework, thread count, the .npz input files and where to write outputs. Frameworks never share a
process: TF, JAX and torch fight over thread pools, and an import may crash.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def _set_thread_env(threads: int) -> None:
    # Must happen before the framework is imported: OpenMP reads it once.
    os.environ["OMP_NUM_THREADS"] = str(threads)


def run_request(request: dict) -> dict:
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
    output_files = []
    for index, input_file in enumerate(request["input_files"]):
        with np.load(input_file) as saved:
            arrays = [saved[t.name] for t in spec.inputs]
        outputs = fw.run(model, arrays)
        if len(outputs) != len(output_names):
            raise RuntimeError(f"model returned {len(outputs)} outputs, spec declares {len(output_names)}")
        target = Path(request["output_dir"]) / f"{framework}_outputs_{index}.npz"
        np.savez(target, **dict(zip(output_names, outputs)))
        output_files.append(str(target))
    result = {
        "status": "ok",
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
    return result


def main(argv: list[str]) -> int:
    from aibench_onnx.workers import worker_main

    return worker_main(argv, "aibench_onnx.workers.native", run_request)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
