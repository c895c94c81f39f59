"""Users' framework models: `pkg.module:factory` plus `--input NAME:DTYPE[dims]` -> an exported ONNX file
and the native outputs as reference test data, built in the framework's own process.

This imports and runs the user's code (the factory and the model), like any test of that model would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.graph.load import random_array
from aibench_onnx.status import Status

_INPUT = re.compile(r"^(?P<name>[A-Za-z_][\w.]*):(?P<dtype>[a-z0-9]+)\[(?P<dims>[^\]]*)\]"
                    r"(?:@(?P<low>-?[\d.]+)\.\.(?P<high>-?[\d.]+))?$")
ACCEPTED = {"torch": "a torch.nn.Module, or a factory returning one",
            "tf": "a Keras 3 model (Functional, Sequential, subclassed) or a callable tf.Module, or a factory returning one",
            "jax": "a Flax NNX module, or a factory returning one"}
USER_ERROR = "user_error"  # a worker document: the user's input was wrong (one line, exit 2)
_DTYPES = {"float32", "float16", "float64", "int64", "int32", "bool", "uint8", "int8"}


@dataclass
class InputDecl:
    name: str
    dtype: str
    dims: list  # ints, or symbolic names
    low: float | None = None  # NAME:DTYPE[dims]@LOW..HIGH: values drawn from [LOW, HIGH] (integers: inclusive)
    high: float | None = None


def parse_input(text: str) -> InputDecl:
    match = _INPUT.match(text.strip())
    if not match:
        raise UserError(f"--input {text!r}: expected NAME:DTYPE[d1,d2,...] with an optional value range @LOW..HIGH, "
                        "e.g. x:float32[batch,16] or input_ids:int64[batch,seq]@0..30521")
    if match["dtype"] not in _DTYPES:
        raise UserError(f"--input {text!r}: unknown dtype {match['dtype']!r}; valid: {', '.join(sorted(_DTYPES))}")
    dims = []
    for part in (p.strip() for p in match["dims"].split(",") if p.strip()):
        dims.append(int(part) if part.isdigit() else part)
        if not isinstance(dims[-1], int) and not re.match(r"^[A-Za-z_]\w*$", part):
            raise UserError(f"--input {text!r}: dimension {part!r} is neither a size nor a name")
    low, high = (float(match["low"]), float(match["high"])) if match["low"] is not None else (None, None)
    if low is not None and low > high:
        raise UserError(f"--input {text!r}: the range @{match['low']}..{match['high']} is empty")
    return InputDecl(match["name"], match["dtype"], dims, low, high)


def concrete_inputs(decls: list[InputDecl], dims: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs; symbolic dims from `dims`, a symbolic first dim defaulting to batch 2 (>= 2, so the
    exporter cannot specialise it to 1)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for decl in decls:
        shape = []
        for position, dim in enumerate(decl.dims):
            if isinstance(dim, int):
                shape.append(dim)
            elif dim in dims:
                shape.append(dims[dim])
            elif position == 0:
                shape.append(2)
            else:
                raise UserError(f"--input {decl.name}: set the symbolic dimension {dim!r} with --dim {dim}=SIZE")
        arrays[decl.name] = (random_array(rng, shape, decl.dtype) if decl.low is None
                             else _in_range(rng, shape, decl.dtype, decl.low, decl.high))
    return arrays


def _in_range(rng: np.random.Generator, shape: list[int], dtype: str, low: float, high: float) -> np.ndarray:
    """Token ids below the vocabulary, 0/1 masks, pixel values in [0, 1]: integers inclusive, floats uniform."""
    if np.dtype(dtype).kind in "iub":
        return rng.integers(int(low), int(high) + 1, shape).astype(dtype)
    return rng.uniform(low, high, shape).astype(dtype)


def load_factory_model(target: str, framework: str):
    """Import `pkg.module:factory`, call it, and check it returned a model of `framework`."""
    import importlib

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UserError(f"{target!r}: expected pkg.module:factory")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's import error, in one line
        raise UserError(f"{target}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        raise UserError(f"{target}: {module_name} has no attribute {attribute!r}")
    from aibench_onnx.frameworks import adapter

    is_model = adapter(framework).is_model
    try:
        model = factory() if callable(factory) and not is_model(factory) else factory
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{target}: the factory raised {type(exc).__name__}: {exc}") from None
    if not is_model(model):
        raise UserError(f"{target}: returned {type(model).__name__}, not a {framework} model "
                        f"(accepted: {ACCEPTED[framework]})")
    return model


def export_user_model(model, framework: str, arrays: dict[str, np.ndarray], out_dir, opset: int) -> dict:
    """Run the model natively, export it, and store inputs + native outputs as model-zoo test data."""
    from pathlib import Path

    from aibench_onnx.frameworks import adapter
    from aibench_onnx.frameworks.export import export_model
    from aibench_onnx.graph.testdata import write_test_data_set
    from aibench_onnx.zoo.spec import ModelSpec, TensorSpec

    names = list(arrays)
    fw = adapter(framework)
    try:
        native = fw.run_named(model, arrays)  # output names: flattened as frameworks/outputs.py says
    except (TypeError, ValueError) as exc:
        if "matches no parameter" in str(exc) or "the model returned" in str(exc):
            raise UserError(str(exc)) from None
        raise
    spec = ModelSpec(
        name="user_model", description="user model", family="macro", sizes={"tiny": {}, "small": {}},
        inputs=tuple(TensorSpec(n, ("batch",) + arrays[n].shape[1:], str(arrays[n].dtype)) for n in names),
        outputs=tuple(TensorSpec(n, ("batch",) + o.shape[1:], str(o.dtype)) for n, o in native.items()),
        init_params=lambda dims, rng: {}, layout="the user's own")
    out_dir = Path(out_dir)
    by_name = framework == "torch" and fw.calls_by_name(model, names)
    record = export_model(model, spec, "tiny", framework, [arrays[n] for n in names], out_dir / "model.onnx", opset,
                          by_name=by_name)
    record["output_names"] = list(native)
    write_test_data_set(out_dir / "test_data_set_0", arrays, native)
    return record


def build_and_export(request: dict) -> dict:
    """The worker's job: import the user's factory, build the model, export it with our exporter."""
    import sys

    sys.path.insert(0, request["cwd"])  # `pkg.module` resolves as it would in the user's shell
    try:
        model = load_factory_model(request["target"], request["framework"])
        arrays = concrete_inputs([InputDecl(**d) for d in request["inputs"]], request["dims"])
        # Inputs that fit no forward parameter, outputs of no accepted kind: the user's to fix (one line, exit 2).
        # Anything else the user's model raises while running or exporting is a failed result (worker_main).
        record = export_user_model(model, request["framework"], arrays, request["out_dir"], request["opset"])
    except UserError as exc:
        return {"status": USER_ERROR, "reason": str(exc)}
    return {"status": Status.OK, "export": record}
