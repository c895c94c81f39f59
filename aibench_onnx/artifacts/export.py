"""Export one native model with its framework's exporter and describe the result as a record.

An export that fails is a record with the exporter's reason, not a crash. An exporter that "succeeds"
but writes operators that ONNX does not know (tf2onnx leaves Keras' Erfc in the graph) failed too.
"""

from __future__ import annotations

import importlib
import time
import traceback
from pathlib import Path

from aibench_onnx.capture import captured_output
from aibench_onnx.frameworks import GRAPHS, framework_of
from aibench_onnx.status import Status

EXPORT_SCHEMA_VERSION = 1
# Checker messages that mean the graph cannot run anywhere, as opposed to inconsistent shape annotations.
_INVALID_GRAPH_MARKERS = ("No Op registered", "is not a registered function", "Unrecognized attribute")


def _exporter_reason(messages: list[str]) -> str | None:
    """The exporter's own words about unsupported operators, when it printed any."""
    for line in messages:
        lowered = line.lower()
        if "not supported" in lowered or "unsupported ops" in lowered or "unsupported op" in lowered:
            return line.strip()[:300]
    return None


def artifact_key(model_name: str, size: str, framework: str, opset: int) -> str:
    """Content hash of everything an export depends on: the model's source file, size, graph (a framework's
    default exporter, or another one: `torch-script`), opset, and the versions of the framework and its
    exporter. Equal keys mean a stored export can be reused."""
    import hashlib
    from importlib import metadata

    from aibench_onnx.zoo.registry import model_module

    source = Path(model_module(model_name).__file__).read_bytes()
    versions = []
    for package in GRAPHS[framework].depends_on + ("onnx",):
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    text = "\n".join([model_name, size, framework, str(opset), *versions]).encode() + source
    return hashlib.sha256(text).hexdigest()


def _zoo_artifact_key(model_name: str, size: str, framework: str, opset: int) -> str | None:
    from aibench_onnx.zoo.registry import MODELS

    return artifact_key(model_name, size, framework, opset) if model_name in MODELS else None  # users' models: no reuse


def export_model(model, spec, size: str, framework: str, example_inputs: list, path: Path, opset: int,
                 dynamic: list[dict[int, str]] | None = None) -> dict:
    """`framework`: a framework (its default exporter) or a graph name (`torch-script`: that exporter).
    `dynamic`: per input, axis -> symbolic name to export dynamic (a user's model: batch, seq, ...); None: the
    zoo's convention, the first axis (batch) of every input."""
    entry = GRAPHS[framework]
    exporter = importlib.import_module(entry.module)
    name, version = exporter.exporter_info()
    record: dict = {"schema_version": EXPORT_SCHEMA_VERSION, "model": spec.name, "size": size,
                    "artifact_key": _zoo_artifact_key(spec.name, size, framework, opset),
                    "framework": framework_of(framework), "graph_name": framework, "exporter": name,
                    **({"exporter_note": entry.note} if entry.note else {}),
                    "exporter_version": version, "opset": opset,
                    "export_batch": int(example_inputs[0].shape[0]), "status": Status.OK, "reason": "", "path": str(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()  # never inspect a stale file from an earlier run
    started = time.perf_counter()
    with captured_output() as captured:
        try:
            exporter.export(model, spec, spec.sizes[size], example_inputs, path, opset, dynamic=dynamic)
        except Exception as exc:  # noqa: BLE001 - the exporter's failure is the result
            record["status"] = Status.FAILED
            record["reason"] = f"{exporter_name_short(name)} raised {type(exc).__name__}: " \
                               f"{str(exc).strip().splitlines()[0][:400] if str(exc).strip() else ''}"
            record["traceback"] = traceback.format_exc(limit=8)
    record["export_s"] = round(time.perf_counter() - started, 3)
    record["warnings"] = captured.messages()
    if record["status"] == Status.OK:
        from aibench_onnx.graph.inspect import inspect_onnx

        record["graph"] = inspect_onnx(path)
        checker = record["graph"]["checker"]
        if checker != "ok" and any(marker in checker for marker in _INVALID_GRAPH_MARKERS):
            record["status"] = Status.FAILED
            said = _exporter_reason(captured.messages(limit=200))
            record["reason"] = f"exported graph is invalid: {checker.split(': ', 1)[-1]}" + \
                               (f" ({name}: {said})" if said else "")
        elif checker != "ok":
            record["graph"]["suspicious"].append(f"onnx.checker (full check): {checker}")
    return record


def exporter_name_short(name: str) -> str:
    return name.split(" ")[0]
