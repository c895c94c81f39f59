"""Inputs of a user's framework model, three ways: declared on the command line (`--input
NAME:DTYPE[dims]@LOW..HIGH`, random values), made by the user's own factory (`--inputs pkg.module:make_inputs`),
or read from a `.npz` file. Each way also says which axes are symbolic (exported dynamic, timed at other
sizes): the first axis is the batch; other axes are the named dims (`seq`)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.graph.input_decl import InputDecl, parse_input  # noqa: F401 - the grammar, re-exported
from aibench_onnx.graph.load import random_array
from aibench_onnx.zoo.inputs import EXPORT_BATCH  # the zoo's export batch: >= 2, so no exporter specialises 1

Axes = dict[str, dict[int, str]]  # input name -> axis -> symbolic dim name


def concrete_inputs(decls: list[InputDecl], dims: dict[str, int], seed: int = 0,
                    batch: int | None = None) -> dict[str, np.ndarray]:
    """Random inputs; symbolic dims from `dims`; a symbolic first dim is the batch (`batch`, else its size in
    `dims`, else EXPORT_BATCH)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for decl in decls:
        shape = []
        for position, dim in enumerate(decl.dims):
            if isinstance(dim, int):
                shape.append(dim)
            elif position == 0 and batch is not None:
                shape.append(batch)
            elif dim in dims:
                shape.append(dims[dim])
            elif position == 0:
                shape.append(EXPORT_BATCH)
            else:
                raise UserError(f"--input {decl.name}: set the symbolic dimension {dim!r} with --dim {dim}=SIZE")
        arrays[decl.name] = declared_values(rng, shape, decl)
    return arrays


def declared_values(rng: np.random.Generator, shape: list[int], decl: InputDecl) -> np.ndarray:
    """A declared input's values: its fixed value, its range, or random values of its dtype."""
    if decl.value is not None:
        return np.full(shape, decl.value, dtype=decl.dtype)
    if decl.low is not None:
        return _in_range(rng, shape, decl.dtype, decl.low, decl.high)
    return random_array(rng, shape, decl.dtype)


def _in_range(rng: np.random.Generator, shape: list[int], dtype: str, low: float, high: float) -> np.ndarray:
    """Token ids below the vocabulary, 0/1 masks, pixel values in [0, 1]: integers inclusive, floats uniform."""
    if np.dtype(dtype).kind in "iub":
        return rng.integers(int(low), int(high) + 1, shape).astype(dtype)
    return rng.uniform(low, high, shape).astype(dtype)


def declared_axes(decls: list[InputDecl]) -> Axes:
    return {d.name: {axis: dim for axis, dim in enumerate(d.dims) if isinstance(dim, str)} for d in decls}


def load_npz(path: str) -> dict[str, np.ndarray]:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"--inputs {path}: no such file")
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # noqa: BLE001 - a corrupt or pickled file, in one line
        raise UserError(f"--inputs {path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if not arrays:
        raise UserError(f"--inputs {path}: the file holds no arrays")
    return arrays


def at_batch(arrays: dict[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    """A stored set's rows repeated (or cut) to `batch` rows: a file has the batch it was saved with."""
    return {name: np.resize(a, (batch,) + a.shape[1:]) if a.ndim and a.shape[0] != batch else a
            for name, a in arrays.items()}


def call_input_factory(factory, target: str, batch: int, dims: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """`make_inputs(batch=..., seed=..., **dims)`, passing only the keywords it takes (or all, with **kwargs)."""
    parameters = inspect.signature(factory).parameters
    takes_all = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    offered = {"batch": batch, "seed": seed, **dims}
    try:
        result = factory(**{k: v for k, v in offered.items() if takes_all or k in parameters})
    except Exception as exc:  # noqa: BLE001 - the user's error, in one line
        raise UserError(f"--inputs {target}: raised {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not isinstance(result, dict) or not result or not all(isinstance(k, str) for k in result):
        raise UserError(f"--inputs {target}: returned {type(result).__name__}; expected a dict of input name -> "
                        "numpy array")
    arrays = {}
    for name, value in result.items():
        array = np.asarray(value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value)
        if array.dtype == object:
            raise UserError(f"--inputs {target}: input {name!r} is not numeric ({type(value).__name__})")
        arrays[name] = array
    return arrays


def inferred_axes(make, dims: dict[str, int]) -> Axes:
    """Which axes follow the batch and each named dim, found by asking the input maker at other sizes:
    `make(batch, dims)` -> arrays. An axis that changes with the batch is `batch`; with dim `seq`, `seq`."""
    base = make(EXPORT_BATCH, dims)
    variants = [("batch", make(EXPORT_BATCH + 1, dims))]
    variants += [(name, make(EXPORT_BATCH, {**dims, name: size + 1})) for name, size in dims.items()]
    axes: Axes = {name: {} for name in base}
    for dim_name, arrays in variants:
        for name, array in arrays.items():
            if name in base and array.ndim == base[name].ndim:
                for axis, (before, after) in enumerate(zip(base[name].shape, array.shape)):
                    if before != after:
                        axes[name].setdefault(axis, dim_name)
    return axes
