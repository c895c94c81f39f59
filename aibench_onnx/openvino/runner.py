"""OpenVINO running an exported ONNX graph: compiled once per device with settings made equal to the other
runtimes' (threads as given, one stream, latency hint, float32 inference precision), run over input sets for
parity, or prepared as one timed call.

Why each setting: OpenVINO's CPU plugin computes in bf16 by default on CPUs with AMX or AVX-512 BF16
(`INFERENCE_PRECISION_HINT`), which would make a float32 comparison meaningless and a timing unequal: f32 is
asked for and the precision it reports is recorded. Its default stream count and thread pool follow the
machine, not `--threads`: `INFERENCE_NUM_THREADS` and one stream keep it to the thread count every other
runtime gets. The graph is compiled as exported (dynamic batch kept), as ONNX Runtime runs it.
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


def compile_graph(path: str, device: str, threads: int, profiling: bool = False):
    """(compiled model, info): the graph read and compiled for `device` with aibench's settings; `profiling`:
    with per-layer counters (PERF_COUNT; explain/, never a timed call)."""
    import openvino as ov

    if device not in DEVICES:
        raise ValueError(f"OpenVINO device {device!r} is not supported here (supported: {', '.join(DEVICES)})")
    core = ov.Core()
    started = time.perf_counter()
    model = core.read_model(path)
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": "f32", **({"PERF_COUNT": True} if profiling else {})}
    compiled = core.compile_model(model, DEVICES[device], config)
    info = {"device": DEVICES[device], "compile_s": time.perf_counter() - started, "openvino": ov.__version__,
            "settings": {key: str(value) for key, value in config.items()},
            "inference_precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name(),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS"))}
    return compiled, info


def feed_for(compiled, arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], list[str]]:
    """The inputs by graph input name, matched to the declared types as ONNX Runtime's are
    (graph.load.cast_to_declared: jax2onnx's int32 token ids from int64 arrays), contiguous for set_tensor."""
    from aibench_onnx.graph.load import cast_to_declared

    declared = [(port_name(port, set(arrays)), np.dtype(port.get_element_type().to_dtype()),
                 port.get_element_type().get_type_name()) for port in compiled.inputs]
    feed, casts = cast_to_declared(declared, arrays)
    return {name: np.ascontiguousarray(array) for name, array in feed.items()}, casts


def run_sets(path: str, ep: str, threads: int, feeds) -> OpenVinoRun:
    """The graph on `ep` over every input set; a graph OpenVINO cannot read or compile, and a run that raises,
    end as a status with OpenVINO's reason."""
    result = OpenVinoRun(ep, Status.OK)
    try:
        compiled, result.info = compile_graph(path, ep, threads)
    except Exception as exc:  # noqa: BLE001 - a graph OpenVINO refuses is a result
        result.status, result.reason = Status.FAILED, f"OpenVINO cannot compile the graph: {_one_line(exc)}"
        return result
    names = [port_name(port, _graph_output_names(path)) for port in compiled.outputs]
    request = compiled.create_infer_request()
    for index, arrays in enumerate(feeds):
        try:
            feed, casts = feed_for(compiled, arrays)
            values = request.infer(feed)
        except Exception as exc:  # noqa: BLE001
            shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in arrays.items())
            result.status = Status.FAILED
            result.reason = f"run failed on input set {index} ({shapes}): {_one_line(exc)}"
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
    compiled, info = compile_graph(call.path, call.ep, call.threads)
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


def _one_line(exc: Exception) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
