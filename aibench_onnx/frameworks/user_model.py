"""Users' framework models: `pkg.module:factory` with its inputs -> the model as aibench calls it (eval mode,
inputs in order, static call arguments bound), an exported ONNX file, and native outputs as reference test data.

This imports and runs the user's code (the factory and the model), like any test of that model would.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.user_inputs import (
    Axes,
    InputDecl,
    at_batch,
    call_input_factory,
    concrete_inputs,
    declared_axes,
    inferred_axes,
    load_npz,
)
from aibench_onnx.status import Status
from aibench_onnx.zoo.inputs import EXPORT_BATCH

ACCEPTED = {"torch": "a torch.nn.Module, or a factory returning one",
            "tf": "a Keras 3 model (Functional, Sequential, subclassed) or a callable tf.Module, or a factory returning one",
            "jax": "a Flax NNX module, or a factory returning one"}
USER_ERROR = "user_error"  # a worker document: the user's input was wrong (one line, exit 2)


@dataclass
class UserModel:
    """Everything needed to rebuild a user's model and its inputs in any process."""

    target: str  # pkg.module:factory
    framework: str
    inputs: list[InputDecl] = field(default_factory=list)  # declared inputs, or
    inputs_from: str | None = None  # pkg.module:make_inputs, a .npz file or a test_data_set directory
    call_args: dict = field(default_factory=dict)  # static keyword arguments of every call (deterministic=True)
    dims: dict[str, int] = field(default_factory=dict)  # sizes of the symbolic dims (seq=128)
    cwd: str = "."  # where pkg.module resolves, as in the user's shell
    name: str = ""

    def __post_init__(self):
        self.inputs = [d if isinstance(d, InputDecl) else InputDecl(**d) for d in self.inputs]
        self.name = self.name or self.target.rpartition(":")[2] or self.target

    def to_dict(self) -> dict:
        return asdict(self)

    def arrays(self, batch: int | None = None, dims: dict[str, int] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs at `batch` (None: the export batch) and `dims` (default: this model's)."""
        dims = self.dims if dims is None else dims
        if self.inputs_from is None:
            return concrete_inputs(self.inputs, dims, seed, batch)
        if self.stored_inputs:
            arrays = self._stored()
            return at_batch(arrays, batch) if batch is not None else arrays
        factory = _import_attribute(self.inputs_from, self.cwd, "--inputs")
        return call_input_factory(factory, self.inputs_from, batch or EXPORT_BATCH, dims, seed)

    @property
    def stored_inputs(self) -> bool:
        """Inputs from a .npz file or a test_data_set directory (else from the user's input factory)."""
        return self.inputs_from is not None and (self.inputs_from.endswith(".npz")
                                                 or (Path(self.cwd) / self.inputs_from).is_dir())

    def _stored(self) -> dict[str, np.ndarray]:
        from aibench_onnx.graph.testdata import read_named_inputs

        path = Path(self.cwd) / self.inputs_from
        return load_npz(str(path)) if self.inputs_from.endswith(".npz") else read_named_inputs(path)

    def axes(self) -> Axes:
        """Input name -> axis -> symbolic dim name: what the export makes dynamic."""
        if self.inputs_from is None:
            return declared_axes(self.inputs)
        if self.stored_inputs:
            return {name: {0: "batch"} for name, a in self.arrays().items() if a.ndim}
        return inferred_axes(lambda batch, dims: self.arrays(batch, dims), self.dims)


def _import_attribute(target: str, cwd: str, what: str):
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UserError(f"{what} {target!r}: expected pkg.module:name")
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's import error, in one line
        raise UserError(f"{target}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    found = getattr(module, attribute, None)
    if found is None:
        raise UserError(f"{target}: {module_name} has no attribute {attribute!r}")
    return found


def load_factory_model(target: str, framework: str, cwd: str = "."):
    """Import `pkg.module:factory`, call it, and check it returned a model of `framework`."""
    from aibench_onnx.frameworks import adapter

    factory = _import_attribute(target, cwd, "MODEL")
    is_model = adapter(framework).is_model
    try:
        model = factory() if callable(factory) and not is_model(factory) else factory
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{target}: the factory raised {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not is_model(model):
        raise UserError(f"{target}: returned {type(model).__name__}, not a {framework} model "
                        f"(accepted: {ACCEPTED[framework]})")
    return model


def bind_model(model, framework: str, names: list[str], call_args: dict):
    """The model as every later step calls it: inference mode, inputs by position in `names` order (torch
    passes them by name where forward names them), `call_args` bound. A name no parameter takes: one line."""
    from aibench_onnx.frameworks import adapter

    try:
        return adapter(framework).bind(model, names, call_args)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def build_user_model(user: UserModel):
    """The bound model and its export-size inputs, in this process."""
    model = load_factory_model(user.target, user.framework, user.cwd)
    arrays = user.arrays()
    return bind_model(model, user.framework, list(arrays), user.call_args), arrays


def export_user_model(model, framework: str, arrays: dict[str, np.ndarray], out_dir, opset: int,
                      axes: Axes | None = None, other_sizes: dict[str, np.ndarray] | None = None) -> dict:
    """Run the bound model natively, export it with `axes` dynamic (default: the first axis of each input),
    store inputs + native outputs as test data (set 1: `other_sizes`, inputs at other symbolic sizes, when
    the native model runs them), and say which declared-dynamic axes the graph fixed."""
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.export import export_model
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
    record = export_model(model, spec, "tiny", framework, [arrays[n] for n in names], out_dir / "model.onnx", opset,
                          dynamic=[axes.get(n, {}) for n in names])
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


def _precision_inputs(user: UserModel, model, arrays, others, request: dict, record: dict) -> None:
    """The framework's own reduced-precision runs on the reference sets and int8-static's calibration sets."""
    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.user_precision import native_reduced_runs, write_user_calibration

    out_dir = Path(request["out_dir"])
    sets = [arrays] + ([others] if others is not None else [])
    record["reduced"] = native_reduced_runs(user, adapter(user.framework), model, sets, request["precisions"], out_dir)
    if "int8-static" in request["precisions"]:
        record["calibration_files"], record["calibration"] = write_user_calibration(user, out_dir)


def build_and_export(request: dict) -> dict:
    """The worker's job: build the user's model, export it with our exporter, and write the test data."""
    try:
        user = UserModel(**request["user"])
        model, arrays = build_user_model(user)
        # Inputs that fit no forward parameter, outputs of no accepted kind: the user's to fix (one line, exit 2).
        # Anything else the user's model raises while running or exporting is a failed result (worker_main).
        try:
            others, skipped = other_sizes(user), None
        except UserError as exc:  # e.g. an input factory that only makes one size: checked at that size only
            others, skipped = None, f"the inputs cannot be made at other sizes ({exc})"
        record = export_user_model(model, user.framework, arrays, request["out_dir"], request["opset"], user.axes(),
                                   others)
        if skipped:
            record["other_sizes_skipped"] = skipped
        if request.get("precisions") and record["status"] == Status.OK:
            _precision_inputs(user, model, arrays, others if "other_sizes" in record else None, request, record)
    except UserError as exc:
        return {"status": USER_ERROR, "reason": str(exc)}
    return {"status": Status.OK, "export": record}
