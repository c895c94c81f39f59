"""Precision variants of an exported fp32 graph (fp16 and bf16 by conversion, int8 by ONNX Runtime's quantizer)
and int8-static's calibration sets; built in ORT's process, since int8 needs the quantizer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from aibench_onnx.status import Status
from aibench_onnx.zoo.precision import is_reduced

CALIBRATION_SETS = 8
CALIBRATION_SEED = 10_000  # evaluation inputs use seeds from 0: calibration never sees them


def build_variant(onnx_path: str, precision: str, calibration_files: list[str], directory: str | None = None,
                  exclude: tuple[str, ...] = (), suffix: str = "") -> dict:
    """The variant's record: status, path (`directory`, default the fp32 graph's, /model.PRECISION[suffix].onnx),
    what converted and what stayed as it was. `exclude`: nodes left in fp32 (a precision repair: names as
    `variant_nodes` gives them). Never raises for a graph the converter or quantizer refuses: that is the record's
    reason."""
    target = Path(directory or Path(onnx_path).parent) / f"model.{precision}{suffix}.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if precision == "fp16":
            from aibench_onnx.artifacts.fp16 import convert_to_fp16

            return {"status": Status.OK, **convert_to_fp16(onnx_path, target, exclude)}
        if precision == "bf16":
            from aibench_onnx.artifacts.fp16 import convert_to_bf16

            return {"status": Status.OK, **convert_to_bf16(onnx_path, target, exclude)}
        if precision == "int8-dynamic":
            from aibench_onnx.ort.quantize import quantize_int8_dynamic

            return quantize_int8_dynamic(onnx_path, target, exclude)
        if precision == "int8-static":
            from aibench_onnx.ort.quantize import quantize_int8_static

            return quantize_int8_static(onnx_path, target, (load_arrays(f) for f in calibration_files), exclude)
    except Exception as exc:  # noqa: BLE001 - the converter's failure is the result
        return {"precision": precision, "status": Status.FAILED,
                "reason": f"conversion to {precision} failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
    raise ValueError(f"unknown precision {precision!r}")


def variant_graph(onnx_path: str, precision: str):
    """The fp32 graph as the converter sees it (functions inlined; int8: as the quantizer prepares it): the graph
    whose node and tensor names a variant keeps, and `exclude` names."""
    import onnx

    if precision.startswith("int8"):
        from aibench_onnx.ort.quantize import prepared_graph

        return prepared_graph(onnx_path)
    from aibench_onnx.graph.edit import inline_local_functions

    return inline_local_functions(onnx.load(onnx_path))


def variant_nodes(onnx_path: str, precision: str) -> list[tuple[str, str]]:
    """(name, op type) of the nodes a variant converts and a repair may leave in fp32."""
    if precision.startswith("int8"):
        from aibench_onnx.ort.quantize import prepared_nodes

        return prepared_nodes(onnx_path)
    from onnxconverter_common import float16

    blocked = set(float16.DEFAULT_OP_BLOCK_LIST)
    return [(node.name, node.op_type) for node in variant_graph(onnx_path, precision).graph.node
            if node.name and node.op_type not in blocked and node.op_type not in ("Cast", "Constant")]


@dataclass(frozen=True)
class VariantsRequest:
    """What the worker precision_variant builds: the variants of one graph in reduced precisions (int8-static
    calibrated on the .npz `calibration_files`), beside it."""

    onnx_path: str
    precisions: tuple[str, ...]
    calibration_files: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> VariantsRequest:
        return cls(data["onnx_path"], tuple(data["precisions"]), tuple(data.get("calibration_files") or ()))


def build_variants(document: dict) -> dict:
    """The worker `precision_variant`: a VariantsRequest's variants, in a process of its own (int8 needs ONNX
    Runtime's quantizer)."""
    request = VariantsRequest.from_dict(document)
    return {"status": Status.OK,
            "variants": {precision: build_variant(request.onnx_path, precision, list(request.calibration_files))
                         for precision in request.precisions}}


def load_arrays(path: str) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


def calibration_sets(make: Callable[[int], dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """int8-static's calibration inputs, `make(seed)` at seeds no judged or timed input uses."""
    return [make(CALIBRATION_SEED + index) for index in range(CALIBRATION_SETS)]


def write_calibration(feeds: list[dict[str, np.ndarray]], directory: Path) -> list[str]:
    """The calibration sets as .npz files under `directory`/calibration (the quantizer runs in a worker)."""
    (directory / "calibration").mkdir(parents=True, exist_ok=True)
    files = []
    for index, feed in enumerate(feeds):
        files.append(str(directory / "calibration" / f"set{index}.npz"))
        np.savez(files[-1], **feed)
    return files


def variants_in_worker(onnx_path: str, precisions: list[str], calibration: list[dict[str, np.ndarray]],
                       workdir: Path, timeout_s: float = 1200.0) -> dict[str, dict]:
    """precision -> the variant's record, built in a worker of its own (bench and run time them)."""
    from aibench_onnx.launch import run_worker

    reduced = [p for p in precisions if is_reduced(p)]
    if not reduced:
        return {}
    workdir.mkdir(parents=True, exist_ok=True)
    files = write_calibration(calibration, workdir) if "int8-static" in reduced else []
    outcome = run_worker("precision_variant", VariantsRequest(onnx_path, tuple(reduced), tuple(files)), timeout_s,
                         workdir / "precision_request.json")
    if not outcome.ok:
        return {p: {"precision": p, "status": Status.FAILED, "reason": f"variant worker: {outcome.reason}"}
                for p in reduced}
    return outcome.document["variants"]


def user_calibration(user) -> tuple[list[dict[str, np.ndarray]], str]:
    """int8-static's calibration sets from the user's inputs (declared ranges or input factory) at the
    calibration seeds, and what they are; stored inputs (.npz, test_data_set) have one set only, which is
    then also judged."""
    if user.stored_inputs:
        return [user.arrays()], "calibrated on the stored inputs, the same set that is judged (stored inputs have no other set)"
    return (calibration_sets(lambda seed: user.arrays(seed=seed)),
            f"calibrated on the model's inputs at seeds {CALIBRATION_SEED}+, disjoint from the judged sets")


def write_user_calibration(user, out_dir: Path) -> tuple[list[str], str]:
    """user_calibration's sets written as .npz files (the quantizer runs in ORT's worker), and what they are."""
    feeds, note = user_calibration(user)
    return write_calibration(feeds, out_dir), note


def subject_calibration(subject) -> list[dict[str, np.ndarray]]:
    """int8-static's calibration inputs of a subject (subjects.Subject): a zoo model's at the export batch, a
    user's as user_calibration makes them — seeded draws no judged or timed input uses."""
    from aibench_onnx.zoo.inputs import EXPORT_BATCH

    if subject.user:
        return user_calibration(subject.user_model())[0]
    return calibration_sets(lambda seed: subject.arrays(EXPORT_BATCH, seed))
