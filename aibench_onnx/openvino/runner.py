"""OpenVINO running an exported ONNX graph: compiled once per device with settings made equal to the other
runtimes' (threads as given, one stream, latency hint, float32 inference precision), run over input sets for
parity, or prepared as one timed call.

Why each setting: OpenVINO's CPU plugin computes in bf16 by default on CPUs with AMX or AVX-512 BF16
(`INFERENCE_PRECISION_HINT`), which would make a float32 comparison meaningless and a timing unequal: f32 is
asked for and the precision it reports is recorded. Its default stream count and thread pool follow the
machine, not `--threads`: `INFERENCE_NUM_THREADS` and one stream keep it to the thread count every other
runtime gets. The graph is compiled as exported (dynamic batch kept), as ONNX Runtime runs it; a graph OpenVINO
cannot read or compile with dynamic dims (a Conv whose input rank is only known after an If) is converted again
at the static sizes of the inputs given (`openvino.convert_model(input=...)`, what OpenVINO's own tools ask of
such a model), and the record says so. A graph it cannot compile even then, and a run that raises, "cannot run" (Status.CANNOT_RUN),
with OpenVINO's reason: a runtime's limit, not a wrong answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from aibench_onnx.prepared import GraphCall, Prepared, no_sync
from aibench_onnx.status import Status

DEVICES = {"cpu": "CPU"}  # aibench device name -> OpenVINO's


@dataclass
class OpenVinoRun:
    """One device over several input sets (parity)."""

    ep: str
    status: str  # ok | failed (a graph it cannot compile, a run that raised)
    reason: str = ""
    outputs: list[dict[str, np.ndarray]] = field(default_factory=list)  # one per input set, by output name
    info: dict = field(default_factory=dict)
    casts: list[str] = field(default_factory=list)


def compile_graph(path: str, device: str, threads: int, profiling: bool = False,
                  shapes: dict[str, tuple[int, ...]] | None = None):
    """(compiled model, info): the graph read and compiled for `device` with aibench's settings; `profiling`:
    with per-layer counters (PERF_COUNT; explain/, never a timed call); `shapes`: reshaped to these static
    input shapes first."""
    import openvino as ov

    if device not in DEVICES:
        raise ValueError(f"OpenVINO device {device!r} is not supported here (supported: {', '.join(DEVICES)})")
    core = ov.Core()
    started = time.perf_counter()
    # static sizes are given at conversion: a graph whose ranks are only known from its sizes (a Conv after an
    # If) does not even convert with its dynamic dims, so there is no model to reshape afterwards
    model = (ov.convert_model(path, input={name: list(shape) for name, shape in shapes.items()}) if shapes
             else core.read_model(path))
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": "f32", **({"PERF_COUNT": True} if profiling else {})}
    compiled = core.compile_model(model, DEVICES[device], config)
    info = {"device": DEVICES[device], "compile_s": time.perf_counter() - started, "openvino": ov.__version__,
            "settings": {key: str(value) for key, value in config.items()},
            "inference_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS"))}
    if shapes:
        info["reshaped"] = {name: list(shape) for name, shape in shapes.items()}
    return compiled, info


def compile_for(path: str, device: str, threads: int, arrays: dict[str, np.ndarray], profiling: bool = False):
    """The graph compiled as exported; when OpenVINO cannot read or compile that, converted at the shapes of
    `arrays` (info["reshape_note"] says why). Raises CannotRun with both reasons when neither compiles."""
    try:
        return compile_graph(path, device, threads, profiling)
    except Exception as exc:  # noqa: BLE001 - dynamic dims it cannot compile: try the sizes given
        dynamic = _one_line(exc)
    shapes = {name: tuple(np.shape(array)) for name, array in arrays.items()}
    try:
        compiled, info = compile_graph(path, device, threads, profiling, shapes)
    except Exception as exc:  # noqa: BLE001
        raise CannotRun(f"OpenVINO cannot compile the graph: {dynamic}; nor at the given sizes "
                        f"({_shapes_text(shapes)}): {_one_line(exc)}") from None
    info["reshape_note"] = (f"compiled at the given sizes ({_shapes_text(shapes)}): OpenVINO cannot compile it "
                            f"with its dynamic dims ({dynamic[:200]})")
    return compiled, info


class CannotRun(Exception):
    """OpenVINO cannot read, compile or run the graph: its reason, one line."""


def _shapes_text(shapes: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{name} [{','.join(map(str, shape))}]" for name, shape in shapes.items())


def feed_for(compiled, arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """The inputs by graph input name, matched to the declared types as ONNX Runtime's are
    (graph.load.cast_to_declared: jax2onnx's int32 token ids from int64 arrays), contiguous for set_tensor."""
    from aibench_onnx.graph.load import cast_to_declared

    declared = [(port_name(port, set(arrays)), np.dtype(port.get_element_type().to_dtype()),
                 port.get_element_type().get_type_name()) for port in compiled.inputs]
    feed, casts = cast_to_declared(declared, arrays)
    # np.require keeps a 0-d array 0-d (np.ascontiguousarray makes it [1], which a [] input refuses)
    return {name: np.require(array, requirements="C") for name, array in feed.items()}, casts


def run_sets(path: str, ep: str, threads: int, feeds) -> OpenVinoRun:
    """The graph on `ep` over every input set (input sets of other shapes compiled again when the graph had to
    be reshaped); a graph OpenVINO cannot read or compile, and a run that raises, "cannot run" with OpenVINO's
    reason."""
    result = OpenVinoRun(ep, Status.OK)
    names, as_exported, reshaped = None, None, {}  # compiled once as exported, else once per set of shapes
    for index, arrays in enumerate(feeds):
        shapes = tuple((name, np.shape(array)) for name, array in arrays.items())
        entry = as_exported or reshaped.get(shapes)
        if entry is None:
            try:
                compiled, info = compile_for(path, ep, threads, arrays)
            except CannotRun as exc:
                result.status, result.reason = Status.CANNOT_RUN, str(exc)
                return result
            entry = (compiled, compiled.create_infer_request())
            if "reshaped" in info:
                reshaped[shapes] = entry
            else:
                as_exported = entry
            if not result.info:
                result.info = info
            elif "reshaped" in info:
                result.info.setdefault("reshaped_sets", []).append(info["reshaped"])
        compiled, request = entry
        names = names or [port_name(port, _graph_output_names(path)) for port in compiled.outputs]
        try:
            feed, casts = feed_for(compiled, arrays)
            values = request.infer(feed)
        except Exception as exc:  # noqa: BLE001
            shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in arrays.items())
            result.status = Status.CANNOT_RUN
            result.reason = f"OpenVINO cannot run input set {index} ({shapes}): {_one_line(exc)}"
            return result
        result.casts = sorted(set(result.casts) | set(casts))
        result.outputs.append({name: np.array(values[port]) for name, port in zip(names, compiled.outputs)})
    return result


def prepare_timed(call: GraphCall, arrays: dict[str, np.ndarray]) -> Prepared:
    """One synchronous inference with the inputs set on the request once (as ONNX Runtime's IO binding binds
    them) and outputs not copied out (`share_outputs`), so `run` is the computation only. CPU: returns when
    done, so no sync. OpenVINO has no optimization level to choose: its graph transformations always run."""
    from functools import partial

    started = time.perf_counter()
    compiled, info = compile_for(call.path, call.ep, call.threads, arrays)
    request = compiled.create_infer_request()
    feed, casts = feed_for(compiled, arrays)
    for name, array in feed.items():
        request.set_tensor(name, _tensor(array))
    info.update(input_casts=casts, inputs_set_once=True)
    return Prepared(partial(request.infer, None, share_outputs=True), no_sync, info,
                    {"compile_s": time.perf_counter() - started})


def port_name(port, wanted: set[str]) -> str:
    """The ONNX name of an input or output port: OpenVINO keeps several names per tensor (jax2onnx's graphs give
    an input's tensor internal names too), so the one the graph declares, else any."""
    return next((name for name in sorted(port.get_names()) if name in wanted), port.get_any_name())


def _graph_output_names(path: str) -> set[str]:
    import onnx

    return {output.name for output in onnx.load(path, load_external_data=False).graph.output}


def _tensor(array: np.ndarray):
    import openvino as ov

    return ov.Tensor(array, shared_memory=True)


_WRAPPING = ("Exception from", "Check '", "FrontEnd API failed", "Model wasn't fully", "Failed operations",
             "Summary", "While validating", "-- ", "[ GENERAL_ERROR ]")


def _one_line(exc: Exception) -> str:
    """OpenVINO's reason without its wrapping (source locations, 'Check ... failed at', summaries): the first
    line that says something, after the operation it is about."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    operation = next((line[3:].split(" with a message")[0] for line in lines if line.startswith("-- ")), "")
    cause = next((line for line in lines if not line.startswith(_WRAPPING)), None)
    if cause is None:
        return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    return (f"{operation}: " if operation else "") + cause[:400]
