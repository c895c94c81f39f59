"""The ONNX model-zoo test-data layout: `test_data_set_N/input_K.pb` and `output_K.pb`, each a serialized
TensorProto. Reading it lets `aibench check` use a model's stored reference outputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from aibench_onnx.errors import UserError

_INDEX = re.compile(r"^(input|output)_(\d+)\.pb$")


def _read_tensor(path: Path) -> tuple[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(path.read_bytes())
        return tensor.name, numpy_helper.to_array(tensor)
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        raise UserError(f"{path}: not a serialized TensorProto ({type(exc).__name__})") from None


def read_test_data_set(directory: str | Path, input_names: list[str], output_names: list[str]):
    """(inputs, outputs or None) of one test_data_set directory, keyed by graph names. Files are matched
    by their TensorProto name when set, else by position (input_0 -> first graph input)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"--test-data {directory}: not a directory")
    found: dict[str, dict[int, tuple[str, np.ndarray]]] = {"input": {}, "output": {}}
    for path in directory.iterdir():
        match = _INDEX.match(path.name)
        if match:
            found[match.group(1)][int(match.group(2))] = _read_tensor(path)
    if not found["input"]:
        raise UserError(f"--test-data {directory}: no input_N.pb files")

    def by_name(kind: str, names: list[str]) -> dict[str, np.ndarray]:
        result = {}
        for index, (name, array) in sorted(found[kind].items()):
            if name and name in names:
                result[name] = array
            elif index < len(names):
                result[names[index]] = array
            else:
                raise UserError(f"--test-data {directory}: {kind}_{index}.pb has no matching graph {kind}")
        return result

    inputs = by_name("input", input_names)
    missing = [name for name in input_names if name not in inputs]
    if missing:
        raise UserError(f"--test-data {directory}: no value for graph input(s) {', '.join(missing)}")
    outputs = by_name("output", output_names) if found["output"] else None
    return inputs, outputs


def write_test_data_set(directory: str | Path, inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray] | None) -> Path:
    from onnx import numpy_helper

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for kind, arrays in (("input", inputs), ("output", outputs or {})):
        for index, (name, array) in enumerate(arrays.items()):
            (directory / f"{kind}_{index}.pb").write_bytes(numpy_helper.from_array(np.asarray(array), name).SerializeToString())
    return directory


def read_named_inputs(directory: str | Path) -> dict[str, np.ndarray]:
    """The inputs of a test_data_set directory by their TensorProto names, in file order (a framework model
    has no graph yet to name them)."""
    directory = Path(directory)
    files = sorted((int(m.group(2)), path) for path in directory.iterdir()
                   if (m := _INDEX.match(path.name)) and m.group(1) == "input")
    arrays = {}
    for index, path in files:
        name, array = _read_tensor(path)
        if not name:
            raise UserError(f"--inputs {directory}: input_{index}.pb has no tensor name to match a model input")
        arrays[name] = array
    if not arrays:
        raise UserError(f"--inputs {directory}: no input_N.pb files")
    return arrays
