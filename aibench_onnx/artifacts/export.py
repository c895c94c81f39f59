"""Export one native model with its framework's exporter and describe the result as a record.

An export that fails is a record with the exporter's reason, not a crash. An exporter that "succeeds"
but writes operators that ONNX does not know (tf2onnx leaves Keras' Erfc in the graph) failed too.
"""

from __future__ import annotations

import importlib
import re
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
            record.update(status=Status.FAILED, **exporter_failure(exporter_name_short(name), exc))
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


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A traceback line an exporter quotes ("Original traceback:", torch.export's "The following call raised ..."):
# File "PATH", line N, in FUNCTION, then the source line.
_QUOTED_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.+)')


def exporter_failure(exporter: str, exc: BaseException) -> dict:
    """What an export failure says, as one line without terminal colours: the exporter's own first sentence,
    the exception that caused it (torch.onnx wraps torch.export's: its "Exception summary" is the useful part)
    and the model's source line the exporter quotes, e.g. transformers' T5 at `modeling_t5.py:368`. Returns
    reason, and cause / source when there are any."""
    outer = _ANSI.sub("", str(exc)).strip()
    headline = outer.split("Next steps:")[0].strip().splitlines()[0] if outer else ""
    root = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    found: dict = {}
    inner = _ANSI.sub("", str(root)).strip() if root is not exc else ""
    if not inner and "## Exception summary" in outer:  # the cause only in the text (it crossed a process)
        inner = outer.split("## Exception summary", 1)[1].strip()
    if inner:
        first = inner.splitlines()[0].strip()
        found["cause"] = first if root is exc else f"{type(root).__name__}: {first}"
    frames = _QUOTED_FRAME.findall(inner or outer)
    if frames:
        path, line, function, code = frames[-1]  # the innermost frame quoted: where the model's code failed
        found["source"] = f"{Path(path).name}:{line} in {function}: {code.strip()}"
    reason = f"{exporter} raised {type(exc).__name__}: {headline}"
    if found.get("cause"):
        reason += f" — {found['cause']}"
    if found.get("source"):
        reason += f" (at {found['source']})"
    return {"reason": " ".join(reason.split())[:1200], **found}


def exporter_name_short(name: str) -> str:
    return name.split(" ")[0]
