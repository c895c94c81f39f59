"""The ONNX Runtime side of zoo parity, run in a process of its own (the worker ort_parity): one exported file,
every requested (provider, optimization level), every input set; outputs saved as .npz for the comparison.

ORT never shares a process with the framework that exported the graph, so neither one's threads, memory
allocator or CUDA context colours the other's results. When ORT refuses the file because the exporter's
shape annotations (value_info) contradict the graph, the same configuration is run once more without them,
so the report can say whether only the annotations are wrong or the computation too.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from aibench_onnx.parity.config_run import VALUE_INFO_REMOVED, ConfigRun
from aibench_onnx.status import Status


@dataclass(frozen=True)
class OrtParityRequest:
    """One exported graph on every (provider, optimization level), in every precision (its variants built in
    the worker: int8 needs ONNX Runtime's quantizer), over every input set; outputs written to `output_dir`."""

    onnx_path: str
    configs: list[tuple[str, str]]  # (ep, opt level)
    input_files: list[str]
    threads: int
    output_dir: str
    tf32: bool = False
    precisions: list[str] = field(default_factory=lambda: ["fp32"])
    calibration_files: list[str] = field(default_factory=list)  # int8-static: inputs the ranges come from

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> OrtParityRequest:
        return cls(**{**data, "configs": [(ep, level) for ep, level in data["configs"]]})


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


def run_config(onnx_path: str, ep: str, opt_level: str, threads: int, input_files: list[str], out_dir: Path,
               tf32: bool = False, precision: str = "fp32") -> ConfigRun:
    import numpy as np

    from aibench_onnx.ort.execute import LOAD_FAILED, run_on_provider
    from aibench_onnx.ort.session import cuda_options, missing_kernel

    def feeds():
        for input_file in input_files:
            with np.load(input_file) as saved:
                yield {name: saved[name] for name in saved.files}

    options = cuda_options(tf32) if ep == "cuda" else None
    run = run_on_provider(onnx_path, ep, opt_level, threads, feeds(), options)
    result = ConfigRun(ep, opt_level, precision)
    unsupported = missing_kernel(precision, ep, run.reason) if run.status == LOAD_FAILED else None
    if unsupported:
        result.status, result.reason = Status.UNAVAILABLE, unsupported
        return result
    if run.status == LOAD_FAILED:
        stripped = _without_shape_annotations(onnx_path, run.reason)
        retried = run_on_provider(stripped, ep, opt_level, threads, feeds(), options) if stripped else None
        # The cell stays failed either way (the exported file does not load); the numbers say which.
        result.reason = run.reason
        if retried is None or retried.status == LOAD_FAILED:
            result.status = Status.FAILED
            return result
        result.diagnostic, run = VALUE_INFO_REMOVED, retried
    if run.status == Status.EP_UNAVAILABLE:
        result.status, result.reason = run.status, run.reason
        return result
    result.providers, result.create_s, result.log = run.providers, run.create_s, run.log
    if run.status != Status.OK:
        result.status, result.reason = run.status, run.reason
        return result
    result.casts, result.audit = run.casts, run.audit
    for index, outputs in enumerate(run.outputs):
        target = out_dir / f"ort_{'' if precision == 'fp32' else precision + '_'}{ep}_{opt_level}_{index}.npz"
        np.savez(target, **outputs)
        result.output_files.append(str(target))
    if result.diagnostic:
        result.status = Status.FAILED
    return result


def run_request(document: dict) -> dict:
    """Every configuration on the exported graph, and on each precision variant of it (built here: int8
    needs ONNX Runtime's quantizer). A variant that cannot be built fails its configurations with the reason."""
    from aibench_onnx.artifacts.variants import build_variant

    request = OrtParityRequest.from_dict(document)
    os.environ.setdefault("OMP_NUM_THREADS", str(request.threads))
    results, variants = [], {}
    for precision in request.precisions:
        path = request.onnx_path
        if precision != "fp32":
            variants[precision] = variant = build_variant(path, precision, request.calibration_files)
            if variant["status"] != Status.OK:
                results += [ConfigRun(ep, level, precision, Status.EXPORT_FAILED, variant["reason"])
                            for ep, level in request.configs]
                continue
            path = variant["path"]
        results += [run_config(path, ep, level, request.threads, request.input_files, Path(request.output_dir),
                               request.tf32, precision)
                    for ep, level in request.configs]
    return {"status": Status.OK, "configs": [r.to_dict() for r in results], "variants": variants}
