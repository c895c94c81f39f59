"""A user's framework model's artifacts: built, run and exported in the framework's own process
(the worker user_model -> `build_and_export` here), with its reference test data and, when asked, the
framework's own reduced-precision runs and int8-static's calibration sets; and the parent's side that asks
for them, as check, bench and run all need."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.user_model import USER_ERROR, Axes, UserModel, build_user_model
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH


@dataclass(frozen=True)
class UserModelRequest:
    """The worker user_model: build the user's model, export it to `out_dir`, write its reference test data;
    with reduced `precisions`, the framework's own reduced runs and int8-static's calibration sets too."""

    user: UserModel
    out_dir: str
    opset: int
    precisions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**asdict(self), "user": self.user.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> UserModelRequest:
        return cls(**{**data, "user": UserModel(**data["user"])})


@dataclass(frozen=True)
class ExportDifferenceRequest:
    """The worker export_difference: export the user's torch model again and find the first node of the
    exported program whose ONNX value differs from PyTorch's on one input set (`test_data`, its directory);
    `capture_dir`: where to keep the graph and PyTorch's values a reproduction needs."""

    user: UserModel
    test_data: str
    atol: float
    rtol: float
    opset: int
    output_names: list[str] | None = None
    capture_dir: str | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "user": self.user.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> ExportDifferenceRequest:
        return cls(**{**data, "user": UserModel(**data["user"])})


def export_in_worker(user, out_dir: Path, opset: int, timeout_s: float = 1800,
                     precisions: tuple[str, ...] = ()) -> dict:
    """Build, run and export the user's model in its framework's process; the export record (with
    `test_data`: the reference sets written; with reduced `precisions`, the framework's own reduced runs and
    int8-static's calibration sets too). A user's mistake is a UserError (exit 2); a model that fails to
    run or export is a record with status failed."""
    from aibench_onnx.launch import run_worker

    out_dir.mkdir(parents=True, exist_ok=True)
    import shutil

    for stale in out_dir.glob("test_data_set_*"):  # an earlier model's reference sets in a reused -o folder
        shutil.rmtree(stale, ignore_errors=True)
    request = UserModelRequest(user, str(out_dir), opset, list(precisions))
    outcome = run_worker("user_model", request, timeout_s, out_dir / "user_model_request.json")
    document = outcome.document
    if outcome.died:
        return {"status": outcome.status, "reason": f"the model's process died: {outcome.reason}"}
    if document.get("status") == USER_ERROR:
        raise UserError(document["reason"])
    if not outcome.ok:
        return {"status": Status.FAILED, "reason": document.get("reason", outcome.reason)}
    record = document["export"]
    record["test_data"] = [str(p) for p in sorted(out_dir.glob("test_data_set_*"))]
    return record


def export_or_failure(user, out_dir: Path, opset: int, timeout_s: float = 1800,
                      precisions: tuple[str, ...] = ()) -> dict:
    """export_in_worker for a run, where a factory or input the user got wrong fails that job with its one
    line (a failed record) while the run goes on."""
    try:
        return export_in_worker(user, out_dir, opset, timeout_s, precisions)
    except UserError as exc:
        return {"status": Status.FAILED, "reason": str(exc)}


def export_user_model(model, framework: str, arrays: dict[str, np.ndarray], out_dir, opset: int,
                      axes: Axes | None = None, other_sizes: dict[str, np.ndarray] | None = None) -> dict:
    """Run the bound model natively, export it with `axes` dynamic (default: the first axis of each input),
    store inputs + native outputs as test data (set 1: `other_sizes`, inputs at other symbolic sizes, when
    the native model runs them), and say which declared-dynamic axes the graph fixed."""
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.graph.edit import fixed_axes, name_dynamic_axes
    from aibench_onnx.graph.testdata import write_test_data_set
    from aibench_onnx.zoo.spec import ModelSpec, TensorSpec

    names = list(arrays)
    axes = axes if axes is not None else {name: {0: "batch"} for name in names if arrays[name].ndim}
    fw = adapter(framework)
    native = _run_native(fw, model, arrays)
    spec = ModelSpec(
        name="user_model", description="user model", family="macro", sizes={"tiny": {}, "small": {}},
        inputs=tuple(TensorSpec(n, _symbolic(arrays[n].shape, axes.get(n, {})), str(arrays[n].dtype)) for n in names),
        outputs=tuple(TensorSpec(n, tuple(o.shape), str(o.dtype)) for n, o in native.items()),
        init_params=lambda dims, rng: {}, layout="the user's own")
    out_dir = Path(out_dir)
    record = _export_with_fallback(model, spec, framework, [arrays[n] for n in names], out_dir / "model.onnx", opset,
                                   [axes.get(n, {}) for n in names])
    record["output_names"] = list(native)
    record["parameters"] = fw.param_count(model)
    record["dynamic_axes"] = {n: {str(k): v for k, v in a.items()} for n, a in axes.items() if a}
    write_test_data_set(out_dir / "test_data_set_0", arrays, native)
    if record["status"] == Status.OK:
        import onnx

        graph = onnx.load(record["path"])
        name_dynamic_axes(graph, axes)  # s0 / unk__12 -> batch / seq, as the user declared them
        onnx.save(graph, record["path"])
        record["fixed_dims"] = fixed_axes(graph, axes)
    if other_sizes is not None:
        try:
            write_test_data_set(out_dir / "test_data_set_1", other_sizes, _run_native(fw, model, other_sizes))
            record["other_sizes"] = {n: list(a.shape) for n, a in other_sizes.items()}
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model itself does not take these sizes: not checked there
            record["other_sizes_skipped"] = f"the native model does not run at other sizes ({type(exc).__name__}: " \
                                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''})"
    return record


def _export_with_fallback(model, spec, framework: str, example: list[np.ndarray], path: Path, opset: int,
                          dynamic: list[dict[int, str]]) -> dict:
    """The framework's default exporter, and when it fails, its other exporters in turn (torch: the dynamo
    exporter, then TorchScript): the first graph that exports is used, and the record keeps every attempt
    (`attempts`: exporter, status, reason, cause, source), so a user sees why the first choice failed and
    which graph was checked instead. Every exporter failing: the reasons of all, one line."""
    from aibench_onnx.artifacts.export import export_model
    from aibench_onnx.frameworks import FRAMEWORKS, graph_name

    attempts = []
    from aibench_onnx.frameworks import adapter

    exporters = list(FRAMEWORKS[framework].exporters)
    preferred = getattr(adapter(framework), "preferred_exporter", lambda model: None)(model)
    exporters.sort(key=lambda name: name != preferred)  # a TorchScript module: its own exporter first
    for exporter in exporters:
        record = export_model(model, spec, "tiny", graph_name(exporter), example, path, opset, dynamic=dynamic)
        attempts.append({key: record[key] for key in ("exporter", "exporter_version", "status", "reason", "cause",
                                                      "source") if key in record})
        if record["status"] == Status.OK:
            break
    if len(attempts) > 1:
        record["attempts"] = attempts
        if record["status"] == Status.OK:
            record["fallback"] = (f"{attempts[0]['exporter']} failed ({attempts[0]['reason']}); exported with "
                                  f"{record['exporter']} instead")
        else:
            record["reason"] = "; ".join(f"{a['exporter']}: {a['reason']}" for a in attempts)
    return record


def _run_native(fw, model, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    try:
        return fw.run_named(model, arrays)  # output names: flattened as frameworks/outputs.py says
    except TypeError as exc:
        if "the model returned" in str(exc):
            raise UserError(str(exc)) from None
        raise


def _symbolic(shape: tuple, axes: dict[int, str]) -> tuple:
    return tuple(axes.get(axis, size) for axis, size in enumerate(shape))


def other_sizes(user: UserModel) -> dict[str, np.ndarray]:
    """Inputs at sizes the export never saw: batch 3, every other symbolic dim one smaller (or larger when
    small), so a dimension the exporter fixed fails the check instead of passing silently."""
    dims = {name: size - 1 if size > 2 else size + 1 for name, size in user.dims.items()}
    return user.arrays(EXPORT_BATCH + 1, dims, seed=1)


def _precision_inputs(user: UserModel, model, arrays, others, request: UserModelRequest, record: dict) -> None:
    """The framework's own reduced-precision runs on the reference sets and int8-static's calibration sets."""
    from aibench_onnx.artifacts.variants import write_user_calibration
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.user_precision import native_reduced_runs

    out_dir = Path(request.out_dir)
    sets = [arrays] + ([others] if others is not None else [])
    record["reduced"] = native_reduced_runs(user, adapter(user.framework), model, sets, request.precisions, out_dir)
    if "int8-static" in request.precisions:
        record["calibration_files"], record["calibration"] = write_user_calibration(user, out_dir)


def build_and_export(document: dict) -> dict:
    """The worker's job (a UserModelRequest): build the user's model, export it with our exporter, and write the
    test data."""
    try:
        request = UserModelRequest.from_dict(document)
        user = request.user
        model, arrays = build_user_model(user)
        # Inputs that fit no forward parameter, outputs of no accepted kind: the user's to fix (one line, exit 2).
        # Anything else the user's model raises while running or exporting is a failed result (worker_main).
        try:
            others, skipped = other_sizes(user), None
        except UserError as exc:  # e.g. an input factory that only makes one size: checked at that size only
            others, skipped = None, f"the inputs cannot be made at other sizes ({exc})"
        record = export_user_model(model, user.framework, arrays, request.out_dir, request.opset, user.axes(), others)
        if skipped:
            record["other_sizes_skipped"] = skipped
        if request.precisions and record["status"] == Status.OK:
            _precision_inputs(user, model, arrays, others if "other_sizes" in record else None, request, record)
    except UserError as exc:
        return {"status": USER_ERROR, "reason": str(exc)}
    return {"status": Status.OK, "export": record}


def export_difference(document: dict) -> dict:
    """The worker's job (an ExportDifferenceRequest) when a user's torch model and its dynamo export compute
    different values while ONNX Runtime agrees with itself: export again (the same model, inputs and dynamic
    axes) and find the first node of the exported program whose ONNX value differs from PyTorch's, on the
    input set that failed."""
    from aibench_onnx.exporters.torch_dynamo import export_program, program_divergence
    from aibench_onnx.graph.testdata import read_test_data_set

    request = ExportDifferenceRequest.from_dict(document)
    model, arrays = build_user_model(request.user)
    names = list(arrays)
    feeds, _ = read_test_data_set(request.test_data, names, request.output_names or [])
    axes = request.user.axes()
    program = export_program(model, [arrays[n] for n in names], names, request.output_names or None,
                             request.opset, [axes.get(n, {}) for n in names])
    return {"status": Status.OK,
            "divergence": program_divergence(program, [feeds[n] for n in names], request.atol, request.rtol,
                                             request.capture_dir)}
