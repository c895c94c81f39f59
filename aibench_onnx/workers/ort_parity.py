"""Run one ONNX file in ONNX Runtime for several (provider, optimization level) configurations, in a
process of its own: `python -m aibench_onnx.workers.ort_parity REQUEST.json OUT.json`.

ORT never shares a process with the framework that exported the graph, so neither one's threads, memory
allocator or CUDA context colours the other's results.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path


def run_config(onnx_path: str, ep: str, opt_level: str, threads: int, input_files: list[str], out_dir: Path,
               tf32: bool = False) -> dict:
    import numpy as np

    from aibench_onnx.ort.session import EpUnavailable, create_session, cuda_options, feed_for

    result: dict = {"ep": ep, "opt_level": opt_level, "status": "ok", "reason": "", "output_files": [], "casts": []}
    options = cuda_options(tf32) if ep == "cuda" else None
    try:
        session, info = create_session(onnx_path, ep, opt_level, threads, options)
    except EpUnavailable as exc:
        return {**result, "status": "ep_unavailable", "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - a graph ORT cannot load is a result
        result.update(status="failed", reason=f"ONNX Runtime cannot load the graph: {exc}")
        stripped = _without_shape_annotations(onnx_path, str(exc))
        if stripped is None:
            return result
        # Diagnose: are only the exporter's shape annotations wrong, or the computation too? The cell stays
        # failed either way (the exported file does not load); the numbers say which.
        try:
            session, info = create_session(stripped, ep, opt_level, threads, options)
        except Exception:  # noqa: BLE001
            return result
        result["diagnostic"] = "value_info_removed"
    result.update({key: value for key, value in asdict(info).items() if key in ("providers", "create_s", "log")})
    names = [o.name for o in session.get_outputs()]
    for index, input_file in enumerate(input_files):
        with np.load(input_file) as saved:
            arrays = {name: saved[name] for name in saved.files}
        try:
            feed, casts = feed_for(session, arrays)
            outputs = session.run(None, feed)
        except Exception as exc:  # noqa: BLE001
            first_line = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__
            return {**result, "status": "failed", "reason": f"run failed on input set {index}: {first_line}"}
        result["casts"] = sorted(set(result["casts"]) | set(casts))
        if index == 0 and "audit" not in result:
            from aibench_onnx.ort.audit import audit

            try:
                result["audit"] = audit(onnx_path if not result.get("diagnostic") else _stripped_path(onnx_path),
                                        ep, opt_level, threads, arrays)
            except Exception as exc:  # noqa: BLE001 - the audit is extra information, never a failure
                result["audit"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        target = out_dir / f"ort_{ep}_{opt_level}_{index}.npz"
        np.savez(target, **dict(zip(names, outputs)))
        result["output_files"].append(str(target))
    return result


def _stripped_path(onnx_path: str) -> str:
    return str(Path(onnx_path).with_name("model.no_value_info.onnx"))


def _without_shape_annotations(onnx_path: str, error: str) -> str | None:
    """A copy of the graph without value_info, when ORT rejected it for contradictory shape annotations."""
    if "ShapeInferenceError" not in error and "Incompatible dimensions" not in error:
        return None
    import onnx

    model = onnx.load(onnx_path)
    if not model.graph.value_info:
        return None
    del model.graph.value_info[:]
    target = _stripped_path(onnx_path)
    onnx.save(model, target)
    return target


def run_request(request: dict) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", str(request["threads"]))
    results = [run_config(request["onnx_path"], c["ep"], c["opt_level"], request["threads"],
                          request["input_files"], Path(request["output_dir"]), request.get("tf32", False))
               for c in request["configs"]]
    return {"status": "ok", "configs": results}


def main(argv: list[str]) -> int:
    from aibench_onnx.workers import worker_main

    return worker_main(argv, "aibench_onnx.workers.ort_parity", run_request, traceback_limit=5)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
