"""Does each ONNX Runtime execution provider really load? Run in a subprocess (the worker ort_probe).

`get_available_providers()` lists what the build was compiled with, not what can load: the CUDA provider
is listed even when libcudart or cuDNN are missing, and ORT then quietly falls back to CPU. The only
truth is a session created with that provider alone, checked with `session.get_providers()`, and a run.
The probe lives in its own process because a broken provider library can crash the interpreter, and
because ORT writes its load errors straight to file descriptor 2, which we capture per provider.
"""

from __future__ import annotations

import os
import re
import traceback

import numpy as np

from aibench_onnx.capture import captured_stderr_fd


def tiny_model_bytes() -> bytes:
    """Y = X + X on a float32 vector: an ONNX graph every provider supports."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "X"], ["Y"])],
        "aibench_probe",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4])],
    )
    # IR 8 / opset 17: old enough for every ORT release we accept, new enough for all our ops.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model.SerializeToString()


_REASON_PATTERNS = (
    re.compile(r"(lib[\w.+-]+\.so[\w.]*: cannot open shared object file[^\n]*)"),
    re.compile(r"(Failed to load library[^\n]*)"),
    re.compile(r"(\S+\.dll[^\n]*(?:not found|could not be found|failed)[^\n]*)", re.IGNORECASE),
)


def failure_reason(log_lines: list[str], exception: str | None) -> str:
    """Pick the most telling line: a missing shared library beats a generic error."""
    text = "\n".join(log_lines + ([exception] if exception else []))
    for pattern in _REASON_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    errors = [line for line in log_lines if " E:" in line or "Error" in line or "error" in line]
    if exception:
        return exception.strip().splitlines()[-1]
    if errors:
        return errors[-1].strip()
    return "session fell back to another provider without an error message"


def probe_provider(ort, name: str, model: bytes) -> dict:
    result: dict = {"provider": name, "loads": False, "session_providers": [], "reason": None}
    options = ort.SessionOptions()
    options.log_severity_level = 2  # warnings and errors: where ORT says why a provider did not load
    exception = None
    with captured_stderr_fd() as log_lines:
        try:
            session = ort.InferenceSession(model, sess_options=options, providers=[name])
            result["session_providers"] = session.get_providers()
            feed = np.arange(4, dtype=np.float32)
            output = session.run(None, {"X": feed})[0]
            if not np.array_equal(output, feed + feed):
                exception = f"wrong result from a one-node graph: {output!r}"
        except Exception as exc:  # noqa: BLE001 - every failure is a finding, not a crash
            exception = f"{type(exc).__name__}: {exc}"
    providers = result["session_providers"]
    result["loads"] = bool(providers) and providers[0] == name and exception is None
    if not result["loads"]:
        # With no exception, ORT fell back silently: the captured log says why.
        result["reason"] = failure_reason(log_lines, exception)
        # ORT names the CUDA/cuDNN major versions it needs in a warning: the actionable part.
        hints = [line.split("]", 1)[-1].strip() for line in log_lines if "Require" in line]
        result["hint"] = hints[-1].split(". Please")[0] if hints else None
    result["log_tail"] = log_lines[-5:]
    return result


def probe() -> dict:
    document: dict = {"import_ok": False}
    try:
        import onnxruntime as ort
    except Exception as exc:  # noqa: BLE001 - a broken install is what we report
        document["import_error"] = f"{type(exc).__name__}: {exc}"
        return document
    document.update(
        import_ok=True,
        version=ort.__version__,
        location=os.path.dirname(ort.__file__),
        device=ort.get_device(),
        available_providers=ort.get_available_providers(),
    )
    try:
        model = tiny_model_bytes()
    except Exception as exc:  # noqa: BLE001
        document["probe_error"] = f"cannot build the probe graph with onnx: {type(exc).__name__}: {exc}"
        return document
    if any(name != "CPUExecutionProvider" for name in ort.get_available_providers()):
        from aibench_onnx.ort.cuda_libs import preload_pip_cuda_libraries

        # the sessions below see what aibench's own GPU sessions see: pip's CUDA libraries preloaded
        document["cuda_preload"] = preload_pip_cuda_libraries()
    document["providers"] = [probe_provider(ort, name, model) for name in ort.get_available_providers()]
    return document


def probe_document(request: dict | None = None) -> dict:
    """The probe's document, even when the probe itself breaks (the parent reports what it says)."""
    try:
        return probe()
    except Exception:  # noqa: BLE001
        return {"import_ok": False, "probe_error": traceback.format_exc(limit=3)}
