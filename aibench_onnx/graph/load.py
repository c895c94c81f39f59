"""Loading a user's ONNX file safely: every way it can be wrong is a one-line error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError


def load_user_model(path: str | Path):
    """The ModelProto at `path`, with its external data checked to exist inside the model's folder."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError and friends
        raise UserError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    if not model.graph.node and not model.graph.output:
        raise UserError(f"{path}: not an ONNX model (no graph)")
    base = path.parent.resolve()
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            location = ExternalDataInfo(tensor).location
            target = (base / location).resolve()
            if base not in target.parents and target != base:
                raise UserError(f"{path}: external data {location!r} of {tensor.name!r} points outside the model's folder")
            if not target.is_file():
                raise UserError(f"{path}: external data file {location!r} of {tensor.name!r} is missing")
    return model


def graph_inputs(model) -> list:
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def random_array(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Values for an input we know only by type: coin flips, small non-negative ints (valid as indices),
    or standard normal floats."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if dtype.kind in "iu":
        return rng.integers(0, 10, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def cast_to_declared(declared: list[tuple[str, object, str]], arrays: dict[str, np.ndarray]
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Feeds for graph inputs declared as (name, numpy dtype or None, type as text). Integer inputs are cast
    to the declared integer type when every value survives the cast (jax2onnx declares int32 token ids);
    each cast is reported."""
    feed, casts = {}, []
    for name, dtype, type_text in declared:
        if name not in arrays:
            raise ValueError(f"graph input {name!r} has no value; have {sorted(arrays)}")
        value = arrays[name]
        if dtype is not None and value.dtype != dtype:
            if value.dtype.kind in "iu" and np.dtype(dtype).kind in "iu":
                cast = value.astype(dtype)
                if not np.array_equal(cast, value):
                    raise ValueError(f"input {name}: values do not fit the graph's {dtype}")
                casts.append(f"{name}: {value.dtype} -> {np.dtype(dtype).name} (graph declares it)")
                value = cast
            else:
                raise ValueError(f"input {name}: graph declares {type_text}, got {value.dtype}")
        feed[name] = value
    return feed, casts


def model_bytes(path: str | Path) -> int:
    """The model's size on disk: the .onnx file and every external data file its initializers name (a torch
    export of a large model keeps its weights in model.onnx.data; the .onnx alone is a fraction)."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    path = Path(path)
    model = onnx.load(str(path), load_external_data=False)
    locations = {ExternalDataInfo(t).location for t in model.graph.initializer if uses_external_data(t)}
    return path.stat().st_size + sum((path.parent / location).stat().st_size for location in locations
                                     if (path.parent / location).is_file())


def runnable_copy(path: str | Path, model, directory: str | Path | None = None) -> tuple[str, list[str]]:
    """(path to run, dims changed): the file itself, or — when it declares graph dims as 0 or -1, which ONNX
    Runtime reads as static — a copy in `directory` (default: a new temporary folder) with them symbolic
    (graph.edit.symbolic_unknown_dims), external data kept beside it (save_edited_copy)."""
    import copy

    import onnx

    from aibench_onnx.graph.edit import symbolic_unknown_dims

    if not symbolic_unknown_dims(copy.deepcopy(model)):
        return str(path), []
    full = onnx.load(str(path))
    changed = symbolic_unknown_dims(full)
    return save_edited_copy(full, path, "symbolic-dims", uses_external(model), directory), changed


def uses_external(model) -> bool:
    """Whether a graph loaded without its external data keeps initializers in files beside it."""
    from onnx.external_data_helper import uses_external_data

    return any(uses_external_data(t) for t in model.graph.initializer)


def save_edited_copy(model, source: str | Path, suffix: str, external: bool,
                     directory: str | Path | None = None) -> str:
    """`model` — an edited `source`, loaded with its data — saved as <stem>.<suffix>.onnx in `directory`
    (default: a new temporary folder, removed when the process exits: callers run the copy for as long as they
    hold the path), its initializers in a file beside it when the source kept them `external`."""
    import atexit
    import shutil
    import tempfile

    import onnx

    if directory is None:
        directory = tempfile.mkdtemp(prefix=f"aibench-{suffix}-")
        atexit.register(shutil.rmtree, directory, True)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{Path(source).stem}.{suffix}.onnx"
    onnx.save(model, str(target), save_as_external_data=external, location=f"{target.name}.data")
    return str(target)
