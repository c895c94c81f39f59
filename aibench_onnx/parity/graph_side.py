"""The side of zoo parity run by a graph runtime other than ONNX Runtime (OpenVINO), in a worker of its own:
the exported graph on each device the runtime offers, over every input set, outputs saved for comparison.
Its results have the shape of ORT's (parity/ort_side.py), so finish_parity judges both alike."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from aibench_onnx.parity.config_run import ConfigRun
from aibench_onnx.status import Status

DEFAULT_LEVEL = "default"  # a runtime without optimization levels to choose: its own transformations always run


@dataclass(frozen=True)
class GraphParityRequest:
    """One exported graph in a graph runtime (a registry kind) on each of its devices, over every input set;
    outputs written to `output_dir`."""

    runtime: str
    onnx_path: str
    eps: list[str]
    input_files: list[str]
    threads: int
    output_dir: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GraphParityRequest:
        return cls(**data)


def run_request(document: dict) -> dict:
    """A GraphParityRequest -> {"configs": [result per device]}."""
    import numpy as np

    from aibench_onnx.runtimes import sets_runner

    request = GraphParityRequest.from_dict(document)
    os.environ.setdefault("OMP_NUM_THREADS", str(request.threads))

    def feeds():
        for input_file in request.input_files:
            with np.load(input_file) as saved:
                yield {name: saved[name] for name in saved.files}

    results = []
    for ep in request.eps:
        run = sets_runner(request.runtime)(request.onnx_path, ep, request.threads, feeds())
        result = ConfigRun(ep, DEFAULT_LEVEL, "fp32", run.status, run.reason, casts=run.casts,
                           providers=[run.info.get("device", ep)], runtime=request.runtime, info=run.info)
        for index, outputs in enumerate(run.outputs if run.status == Status.OK else []):
            target = Path(request.output_dir) / f"{request.runtime}_{ep}_{index}.npz"
            np.savez(target, **outputs)
            result.output_files.append(str(target))
        results.append(result.to_dict())
    return {"status": Status.OK, "configs": results}
