"""Inputs of an ONNX file as its user gives them.

A graph declares each input's type and shape; a shape's dims are sizes, names (`batch`,
`p2o.DynamicDimension.0`) or unnamed (declared `0`, `-1`, `?` or with no value) — an unnamed dim is called by
its input and axis, `images[2]`. The user sets them three ways, as Polygraphy's `--input-shapes` and data
loader do: `--dim NAME=SIZE` (any declared name, or INPUT[AXIS]); `--input NAME:DTYPE[dims]` for an input's
whole shape (overriding the declared one; a size that contradicts a static dim is an error), with a value range
`@LOW..HIGH` or a fixed value `=V` (a scalar whose value selects a branch: `sr:int64[]=16000`); or values from
`--inputs FILE.npz | test_data_set_N/ | pkg.module:make_inputs`. Inputs left to the graph get random values of
their declared type. Every fed input records its shape, dtype and where its values came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError
from aibench_onnx.frameworks.user_inputs import call_input_factory, declared_values, load_npz
from aibench_onnx.graph.input_decl import InputDecl
from aibench_onnx.graph.load import graph_inputs

Dim = int | str | None  # a static size, a symbolic name, or unnamed


@dataclass(frozen=True)
class GraphInput:
    """One input as the graph declares it."""

    name: str
    dtype: np.dtype | None  # None: a type numpy has no dtype for (bfloat16, strings)
    type_text: str
    dims: tuple[Dim, ...] | None  # None: the graph declares no shape (any rank)

    def axis_name(self, axis: int) -> str:
        """What --dim calls this axis: its symbolic name, else INPUT[AXIS]."""
        dim = self.dims[axis] if self.dims is not None else None
        return dim if isinstance(dim, str) else f"{self.name}[{axis}]"

    @property
    def shape_text(self) -> str:
        if self.dims is None:
            return "(no shape declared)"
        return "[" + ",".join("?" if d is None else str(d) for d in self.dims) + "]"


@dataclass(frozen=True)
class FedInput:
    """An input as fed: its shape, dtype and where its values came from."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    source: str

    def to_dict(self) -> dict:
        return {**asdict(self), "shape": list(self.shape)}


@dataclass
class FileFeed:
    arrays: dict[str, np.ndarray]
    inputs: list[FedInput]
    expected: dict[str, np.ndarray] | None = None  # outputs stored beside the inputs (test_data_set_N)
    dims: dict[str, int] = field(default_factory=dict)  # every symbolic or unnamed dim's size, by --dim name


def declared_inputs(model) -> list[GraphInput]:
    """The graph's inputs (initializers excluded), with unnamed dims as None."""
    import onnx

    found = []
    for value in graph_inputs(model):
        if not value.type.HasField("tensor_type"):
            kind = value.type.WhichOneof("value") or "untyped"
            raise UserError(f"input {value.name!r} is a {kind.replace('_type', '')}, not a tensor: aibench feeds "
                            "tensor inputs only")
        tensor = value.type.tensor_type
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        except Exception:  # noqa: BLE001 - bfloat16, float8, strings: no numpy dtype to draw values in
            dtype = None
        type_text = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
        dims = tuple(_dim(d) for d in tensor.shape.dim) if tensor.HasField("shape") else None
        found.append(GraphInput(value.name, dtype, type_text, dims))
    return found


def _dim(dim) -> Dim:
    if dim.HasField("dim_value") and dim.dim_value > 0:
        return int(dim.dim_value)
    name = dim.dim_param.strip() if dim.HasField("dim_param") else ""
    if not name or name == "?" or name.lstrip("-").isdigit():
        return None  # declared 0, -1, '?' or not at all: unnamed
    return name


def dim_names(declared: list[GraphInput]) -> list[str]:
    """Every name --dim may set: declared symbolic names, and INPUT[AXIS] of each non-static axis."""
    names = []
    for graph_input in declared:
        for axis, dim in enumerate(graph_input.dims or ()):
            if not isinstance(dim, int):
                names.append(graph_input.axis_name(axis))
                if isinstance(dim, str):
                    names.append(f"{graph_input.name}[{axis}]")
    return list(dict.fromkeys(names))


def file_feed(model, decls: list[InputDecl] | tuple = (), dims: dict[str, int] | None = None,
              inputs_from: str | None = None, seed: int = 0, cwd: str = ".") -> FileFeed:
    """The inputs of `model` from the user's declarations (`decls`), dim sizes (`dims`) and value source
    (`inputs_from`); the rest random from the graph's declared types. Every way it can be wrong is one line."""
    declared = declared_inputs(model)
    dims = dict(dims or {})
    _check_names(declared, decls, dims)
    sourced, expected, source = _sourced(model, declared, inputs_from, dims, seed, cwd)
    decl_of = {d.name: d for d in decls}
    both = sorted(set(decl_of) & set(sourced))
    if both:
        raise UserError(f"input {both[0]!r} is given by both --input and --inputs {inputs_from}: choose one")
    rng = np.random.default_rng(seed)
    arrays, fed, unset, sizes = {}, [], [], {}
    for graph_input in declared:
        name = graph_input.name
        if name in sourced:
            array = _fit_sourced(graph_input, sourced[name], f"--inputs {inputs_from}")
            arrays[name] = array
            fed.append(FedInput(name, array.shape, array.dtype.name, source))
            _record_sizes(graph_input, array.shape, sizes)
            continue
        decl = decl_of.get(name)
        shape = _declared_shape(graph_input, decl, dims, unset)
        if shape is None:
            continue
        dtype = _dtype_for(graph_input, decl)
        values = declared_values(rng, shape, decl if decl is not None else InputDecl(name, dtype, list(shape)))
        arrays[name] = values
        fed.append(FedInput(name, tuple(shape), dtype, _describe(decl, dtype)))
        _record_sizes(graph_input, shape, sizes)
    if unset:
        raise UserError(f"set the graph's dimension(s) {', '.join(dict.fromkeys(unset))} with --dim NAME=SIZE, or "
                        "an input's whole shape with --input NAME:DTYPE[d1,d2,...]")
    return FileFeed(arrays, fed, expected, sizes)


def _check_names(declared: list[GraphInput], decls, dims: dict[str, int]) -> None:
    names = [g.name for g in declared]
    for decl in decls:
        if decl.name not in names:
            raise UserError(f"--input {decl.name}: the graph has no input {decl.name!r}; its inputs: "
                            f"{', '.join(names) or 'none'}")
    known = set(dim_names(declared)) | {d for decl in decls for d in decl.dims if isinstance(d, str)}
    for name in dims:
        if name not in known:
            offered = ", ".join(dim_names(declared)) or "none (every dim is static)"
            raise UserError(f"--dim {name}: the graph has no dimension {name!r}; its settable dims: {offered}")


def _declared_shape(graph_input: GraphInput, decl: InputDecl | None, dims: dict[str, int],
                    unset: list[str]) -> list[int] | None:
    """The input's shape from its --input (checked against static dims) or from the graph and --dim; None
    (and the missing names in `unset`) when a dim has no size."""
    declared = graph_input.dims
    if decl is not None:
        if declared is not None and len(decl.dims) != len(declared):
            raise UserError(f"--input {decl.text}: {len(decl.dims)} dims given, the graph declares "
                            f"{len(declared)} ({graph_input.name}{graph_input.shape_text})")
        shape = []
        for axis, given in enumerate(decl.dims):
            static = declared[axis] if declared is not None and isinstance(declared[axis], int) else None
            if isinstance(given, str):
                given = dims.get(given, static)
                if given is None:
                    unset.append(decl.dims[axis])
                    continue
            if static is not None and given != static:
                raise UserError(f"--input {decl.text}: {graph_input.name}[{axis}] is {given}, but the graph "
                                f"declares it static {static} ({graph_input.name}{graph_input.shape_text})")
            shape.append(given)
        return shape if len(shape) == len(decl.dims) else None
    if declared is None:
        raise UserError(f"input {graph_input.name!r}: the graph declares no shape; give it with --input "
                        f"{graph_input.name}:{graph_input.dtype or 'DTYPE'}[d1,d2,...]")
    shape = []
    for axis, dim in enumerate(declared):
        if isinstance(dim, int):
            shape.append(dim)
            continue
        size = dims.get(graph_input.axis_name(axis), dims.get(f"{graph_input.name}[{axis}]"))
        if size is None:
            unset.append(graph_input.axis_name(axis))
        else:
            shape.append(size)
    return shape if len(shape) == len(declared) else None


def _dtype_for(graph_input: GraphInput, decl: InputDecl | None) -> str:
    if graph_input.dtype is None:
        raise UserError(f"input {graph_input.name!r}: its type {graph_input.type_text} has no numpy dtype to draw "
                        "values in; give its values with --inputs FILE.npz or a test_data_set directory")
    if decl is not None and np.dtype(decl.dtype) != graph_input.dtype:
        raise UserError(f"--input {decl.text}: the graph declares {graph_input.name} as {graph_input.dtype.name}, "
                        f"not {decl.dtype}")
    return graph_input.dtype.name


def _describe(decl: InputDecl | None, dtype: str) -> str:
    kind = np.dtype(dtype).kind
    if decl is None or (decl.value is None and decl.low is None):
        random = "random " + ("coin flips" if kind == "b" else "integers 0..9" if kind in "iu" else "normal")
        return random + (" (declared type)" if decl is None else " (--input)")
    if decl.value is not None:
        return f"fixed {decl.value:g} (--input)"
    return f"{'integers' if kind in 'iub' else 'uniform'} {decl.low:g}..{decl.high:g} (--input)"


def _sourced(model, declared: list[GraphInput], inputs_from: str | None, dims: dict[str, int], seed: int,
             cwd: str) -> tuple[dict[str, np.ndarray], dict | None, str]:
    """(arrays by input name, stored outputs or None, the source's description) of `--inputs`."""
    if inputs_from is None:
        return {}, None, ""
    names = [g.name for g in declared]
    path = Path(cwd) / inputs_from
    if path.is_dir():
        from aibench_onnx.graph.testdata import read_test_data_set

        arrays, outputs = read_test_data_set(path, names, [o.name for o in model.graph.output])
        return arrays, outputs, f"test data {Path(inputs_from).name}"
    if inputs_from.endswith(".npz"):
        arrays = load_npz(str(path))
        description = f"--inputs {inputs_from}"
    elif ":" in inputs_from:
        from aibench_onnx.frameworks.user_model import import_attribute

        factory = import_attribute(inputs_from, cwd, "--inputs")
        batch = next((dims[g.axis_name(0)] for g in declared if g.dims and g.axis_name(0) in dims), 1)
        arrays = call_input_factory(factory, inputs_from, batch, dims, seed)
        description = f"made by {inputs_from}"
    else:
        raise UserError(f"--inputs {inputs_from!r}: expected a .npz file, a test_data_set directory or "
                        "pkg.module:make_inputs")
    extra = sorted(set(arrays) - set(names))
    if extra:
        raise UserError(f"--inputs {inputs_from}: {extra[0]!r} is not a graph input; the graph's inputs: "
                        f"{', '.join(names)}")
    return arrays, None, description


def _fit_sourced(graph_input: GraphInput, array: np.ndarray, where: str) -> np.ndarray:
    """A given array against the declared input: its rank and static dims must match; an integer array is cast
    to the declared integer type when every value survives (otherwise, and for other dtypes, one line)."""
    array = np.asarray(array)
    declared = graph_input.dims
    if declared is not None:
        wrong = len(declared) != array.ndim or any(isinstance(d, int) and d != s for d, s in zip(declared, array.shape))
        if wrong:
            raise UserError(f"{where}: {graph_input.name} has shape {list(array.shape)}, the graph declares "
                            f"{graph_input.shape_text}")
    want = graph_input.dtype
    if want is None or array.dtype == want:
        return array
    if array.dtype.kind in "iub" and want.kind in "iub":
        cast = array.astype(want)
        if np.array_equal(cast, array):
            return cast
        raise UserError(f"{where}: {graph_input.name}'s values do not fit the graph's {want.name}")
    raise UserError(f"{where}: {graph_input.name} is {array.dtype.name}, the graph declares {want.name}")


def _record_sizes(graph_input: GraphInput, shape, sizes: dict[str, int]) -> None:
    for axis, dim in enumerate(graph_input.dims or ()):
        if not isinstance(dim, int) and axis < len(shape):
            sizes.setdefault(graph_input.axis_name(axis), int(shape[axis]))


def sizes_of(model, feed: dict[str, np.ndarray]) -> dict[str, int]:
    """The --dim sizes a feed has (a set from test data or a file): to make more sets of the same shapes."""
    sizes: dict[str, int] = {}
    for graph_input in declared_inputs(model):
        if graph_input.name in feed:
            _record_sizes(graph_input, np.shape(feed[graph_input.name]), sizes)
    return sizes


@dataclass(frozen=True)
class FileInputs:
    """What the user said about an ONNX file's inputs (`--input` texts, `--dim` sizes, `--inputs`), to make the
    same feed in any process. `batch_axes`: the dims `--batch` sets — the dynamic first axes of inputs the user
    left to the graph (not set by --dim, --input, nor a stored --inputs); `given_batch`: their size when
    --batch is not given (1), or the first input's first size when there are none (a label only)."""

    path: str
    decls: tuple[str, ...] = ()
    dims: tuple[tuple[str, int], ...] = ()
    inputs_from: str | None = None
    cwd: str = "."
    batch_axes: tuple[str, ...] = ()
    given_batch: int = 1

    @classmethod
    def given(cls, path: str, decls: list[str] | tuple = (), dims: dict[str, int] | None = None,
              inputs_from: str | None = None, cwd: str = ".") -> FileInputs:
        """Checked now (every way it can be wrong is one line), with its batch axes found."""
        import onnx

        from aibench_onnx.graph.input_decl import parse_input

        model = onnx.load(str(path), load_external_data=False)
        parsed, dims = [parse_input(text) for text in decls], dict(dims or {})
        graph_inputs, given = declared_inputs(model), {d.name for d in parsed}
        axes = list(dict.fromkeys(g.axis_name(0) for g in graph_inputs
                                  if g.dims and not isinstance(g.dims[0], int) and g.name not in given
                                  and g.axis_name(0) not in dims and f"{g.name}[0]" not in dims))
        probe = file_feed(model, parsed, {**dims, **{axis: 1 for axis in axes}}, inputs_from, cwd=cwd)
        stored = {f.name for f in probe.inputs if f.source.startswith(("--inputs", "test data"))}
        axes = [axis for axis in axes if any(g.axis_name(0) == axis and g.name not in stored for g in graph_inputs)]
        first = probe.inputs[0].shape[0] if probe.inputs and probe.inputs[0].shape else 1
        return cls(str(path), tuple(decls), tuple(dims.items()), inputs_from, cwd, tuple(axes), 1 if axes else first)

    def feed(self, batch: int | None = None, seed: int = 0, path: str | None = None) -> FileFeed:
        """The feed at `batch` (None: as given) for `path` (default: the file the inputs were given for)."""
        import onnx

        from aibench_onnx.graph.input_decl import parse_input

        dims = dict(self.dims)
        dims.update({axis: batch or self.given_batch for axis in self.batch_axes})
        model = onnx.load(path or self.path, load_external_data=False)
        return file_feed(model, [parse_input(t) for t in self.decls], dims, self.inputs_from, seed, self.cwd)

    def arrays(self, batch: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
        return self.feed(batch, seed).arrays

    def to_dict(self) -> dict:
        return {**asdict(self), "dims": dict(self.dims), "decls": list(self.decls), "batch_axes": list(self.batch_axes)}

    @classmethod
    def from_dict(cls, data: dict) -> FileInputs:
        return cls(data["path"], tuple(data.get("decls", ())), tuple((data.get("dims") or {}).items()),
                   data.get("inputs_from"), data.get("cwd", "."), tuple(data.get("batch_axes", ())),
                   int(data.get("given_batch", 1)))
